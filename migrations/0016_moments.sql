-- Moments (issue 18; worker/moments/). Every moments configuration ever saved, with who saved it,
-- when and how (put or rollback, and which version a rollback restored); the newest is in force.
CREATE TABLE moment_versions (
  version INTEGER PRIMARY KEY AUTOINCREMENT,
  config TEXT NOT NULL,
  author TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  action TEXT NOT NULL DEFAULT 'put',
  restored_from INTEGER
);

-- The moments the visitor was in at the decision, as JSON `[{ "id", "event", "windowSeconds" }]`
-- (each moment's KPI and attribution window at decision time); NULL when none.
ALTER TABLE decisions ADD COLUMN moments TEXT;

-- Per moment × UTC day × visitor (measurable decisions only): the first decision in the moment that
-- day, decisions, how many were universal control, the moment's KPI (event type or custom name)
-- and window, and the KPI events (and their value) from `first_time` to `first_time + window_ms`
-- (worker/moments/aggregates.ts folds it; worker/moments/report.ts reads it).
CREATE TABLE agg_moment_exposures (
  moment TEXT NOT NULL,
  day TEXT NOT NULL,
  visitor_key TEXT NOT NULL,
  first_time INTEGER NOT NULL,
  decisions INTEGER NOT NULL,
  control INTEGER NOT NULL,
  kpi_event TEXT NOT NULL,
  window_ms INTEGER NOT NULL,
  kpi_events INTEGER NOT NULL DEFAULT 0,
  kpi_value REAL NOT NULL DEFAULT 0,
  PRIMARY KEY (moment, day, visitor_key)
) WITHOUT ROWID;
CREATE INDEX agg_moment_exposures_visitor ON agg_moment_exposures (visitor_key);

-- Content by moment: per moment × day × block × group, decisions, the impressions and clicks about
-- them, and KPI events attributed to the decision (its decision id) within the moment's window.
CREATE TABLE agg_moment_blocks (
  moment TEXT NOT NULL,
  day TEXT NOT NULL,
  block_id TEXT NOT NULL,
  grp TEXT NOT NULL,
  decisions INTEGER NOT NULL DEFAULT 0,
  impressions INTEGER NOT NULL DEFAULT 0,
  clicks INTEGER NOT NULL DEFAULT 0,
  kpi_events INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (moment, day, block_id, grp)
) WITHOUT ROWID;
