-- Governance (issue 15): incidents, their alerts, the kill switch, and the decision-health fold
-- the operational checks read (worker/incidents/, worker/alerts/, worker/kill-switch/).

-- Why a decision fell back to the rules (worker/decide/decide.ts `fallbackCause`): model_load,
-- cold_start_budget, latency_budget, ranking_error or visitor_state; NULL otherwise.
ALTER TABLE decisions ADD COLUMN fallback_cause TEXT;

-- Decisions per UTC day × model × reason × fallback cause ('' when none): the fallback rate,
-- latency-budget misses and model load failures are read from here, never from raw rows.
-- Folded by worker/aggregates/health.ts inside the consumer's idempotent batch.
CREATE TABLE agg_decision_health (
  day TEXT NOT NULL,
  model TEXT NOT NULL,
  reason TEXT NOT NULL,
  cause TEXT NOT NULL,
  decisions INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (day, model, reason, cause)
) WITHOUT ROWID;

-- One row per (kind, subject) problem while it lasts; a resolved incident stays as history and a
-- new finding of the same (kind, subject) opens a new row. figures: JSON of the latest finding.
CREATE TABLE incidents (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  kind TEXT NOT NULL,
  subject TEXT NOT NULL,
  severity TEXT NOT NULL,          -- warn | alert (the highest while open)
  model TEXT,
  figures TEXT NOT NULL,
  state TEXT NOT NULL,             -- open | acknowledged | resolved
  first_seen INTEGER NOT NULL,     -- ms
  last_seen INTEGER NOT NULL,      -- ms
  updated_by TEXT NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX incidents_state ON incidents (state, kind, subject);
CREATE INDEX incidents_first_seen ON incidents (first_seen);

-- Every state change of an incident: who, when, what (opened | escalated | acknowledged |
-- resolved | reopened), with an optional note.
CREATE TABLE incident_changes (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  incident_id INTEGER NOT NULL,
  change TEXT NOT NULL,
  state TEXT NOT NULL,
  severity TEXT NOT NULL,
  actor TEXT NOT NULL,
  note TEXT,
  at INTEGER NOT NULL
);
CREATE INDEX incident_changes_incident ON incident_changes (incident_id, id);

-- One alert per incident change and configured webhook; the cron delivers it with retries.
-- status: pending | delivered | failed (attempts exhausted).
CREATE TABLE alert_deliveries (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  change_id INTEGER NOT NULL,
  incident_id INTEGER NOT NULL,
  severity TEXT NOT NULL,
  url TEXT NOT NULL,
  format TEXT NOT NULL,            -- slack | generic
  body TEXT NOT NULL,
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_at INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  UNIQUE (change_id, url)
);
CREATE INDEX alert_deliveries_due ON alert_deliveries (status, next_at);

-- Each delivery attempt: the HTTP status (NULL when the request failed) and the error.
CREATE TABLE alert_attempts (
  delivery_id INTEGER NOT NULL,
  attempt INTEGER NOT NULL,
  status_code INTEGER,
  error TEXT,
  at INTEGER NOT NULL,
  PRIMARY KEY (delivery_id, attempt)
) WITHOUT ROWID;

-- The kill switch: every change (the newest row is in force), who, when and why.
CREATE TABLE kill_switch (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  on_ INTEGER NOT NULL,
  reason TEXT,
  actor TEXT NOT NULL,
  at INTEGER NOT NULL
);
