-- Aggregates folded incrementally from decisions and events (worker/aggregates/statements.ts), so
-- reports read rows that grow with days × groups (and visitors), never with decisions.
-- Days are UTC dates 'YYYY-MM-DD'; `model` is the decision's model_version ('' without one).

-- Which raw rows are already folded. Set in the same transaction as the fold, so a redelivered
-- batch changes nothing. events.agg_applied: visitor outcomes and KPI totals folded;
-- events.agg_attributed: counted against its decision in agg_daily (waits for the decision).
ALTER TABLE decisions ADD COLUMN agg_applied INTEGER NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN agg_applied INTEGER NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN agg_attributed INTEGER NOT NULL DEFAULT 0;
-- Rows not yet folded (foldPending): nearly none, so these partial indexes stay tiny.
CREATE INDEX decisions_agg_pending ON decisions (decision_id) WHERE agg_applied = 0;
CREATE INDEX events_agg_pending ON events (id) WHERE agg_applied = 0;

-- Per day × slot × block × model × arm × group: decisions and the events about them (counted on
-- the decision's day). grp: treatment | universal_control | campaign_holdout.
CREATE TABLE agg_daily (
  day TEXT NOT NULL,
  slot TEXT NOT NULL,
  block_id TEXT NOT NULL,
  model TEXT NOT NULL,
  arm TEXT NOT NULL,
  grp TEXT NOT NULL,
  decisions INTEGER NOT NULL DEFAULT 0,
  impressions INTEGER NOT NULL DEFAULT 0,
  clicks INTEGER NOT NULL DEFAULT 0,
  conversions INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (day, slot, block_id, model, arm, grp)
) WITHOUT ROWID;

-- The same key per currency ('' when none): conversions and their summed value.
CREATE TABLE agg_daily_value (
  day TEXT NOT NULL,
  slot TEXT NOT NULL,
  block_id TEXT NOT NULL,
  model TEXT NOT NULL,
  arm TEXT NOT NULL,
  grp TEXT NOT NULL,
  currency TEXT NOT NULL,
  conversions INTEGER NOT NULL DEFAULT 0,
  value REAL NOT NULL DEFAULT 0,
  PRIMARY KEY (day, slot, block_id, model, arm, grp, currency)
) WITHOUT ROWID;

-- Visitor-level exposure, per experiment ('universal' or 'campaign:<name>'), day, slot and model:
-- the first decision's time and how many decisions were control. Only decisions with
-- personalisation and analytics consent (in the experiment and measurable).
CREATE TABLE agg_exposures (
  experiment TEXT NOT NULL,
  day TEXT NOT NULL,
  visitor_key TEXT NOT NULL,
  slot TEXT NOT NULL,
  model TEXT NOT NULL,
  first_time INTEGER NOT NULL,
  decisions INTEGER NOT NULL,
  control INTEGER NOT NULL,
  PRIMARY KEY (experiment, day, visitor_key, slot, model)
) WITHOUT ROWID;
CREATE INDEX agg_exposures_visitor ON agg_exposures (visitor_key, first_time);

-- Visitor outcomes per KPI (type, custom name or '', currency or ''), per UTC day.
CREATE TABLE agg_visitor_days (
  visitor_key TEXT NOT NULL,
  day TEXT NOT NULL,
  type TEXT NOT NULL,
  name TEXT NOT NULL,
  currency TEXT NOT NULL,
  events INTEGER NOT NULL,
  value REAL NOT NULL,
  PRIMARY KEY (visitor_key, day, type, name, currency)
) WITHOUT ROWID;

-- Visitor outcomes on the day of an exposure, from that exposure on: the events of that day at or
-- after `since` (an agg_exposures.first_time), so events before the exposure never count.
CREATE TABLE agg_since (
  visitor_key TEXT NOT NULL,
  since INTEGER NOT NULL,
  type TEXT NOT NULL,
  name TEXT NOT NULL,
  currency TEXT NOT NULL,
  events INTEGER NOT NULL,
  value REAL NOT NULL,
  PRIMARY KEY (visitor_key, since, type, name, currency)
) WITHOUT ROWID;

-- Scratch space of the fold: first exposures new in the current batch (empty between batches).
CREATE TABLE agg_new_since (
  visitor_key TEXT NOT NULL,
  since INTEGER NOT NULL,
  PRIMARY KEY (visitor_key, since)
) WITHOUT ROWID;

-- All events per day and KPI: which KPIs exist, which currencies were used.
CREATE TABLE agg_kpi_daily (
  day TEXT NOT NULL,
  type TEXT NOT NULL,
  name TEXT NOT NULL,
  currency TEXT NOT NULL,
  events INTEGER NOT NULL,
  valued INTEGER NOT NULL,
  value REAL NOT NULL,
  PRIMARY KEY (day, type, name, currency)
) WITHOUT ROWID;

-- Drift monitoring, per day × model: score histogram (bucket b = [b/20, (b+1)/20), -1 below 0,
-- 20 above 1; a score of exactly 1 is in bucket 19) and per-feature count, Σx and Σx² over every
-- scored candidate.
CREATE TABLE agg_scores (
  day TEXT NOT NULL,
  model TEXT NOT NULL,
  bucket INTEGER NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (day, model, bucket)
) WITHOUT ROWID;

CREATE TABLE agg_features (
  day TEXT NOT NULL,
  model TEXT NOT NULL,
  feature TEXT NOT NULL,
  n INTEGER NOT NULL,
  sum REAL NOT NULL,
  sum_sq REAL NOT NULL,
  PRIMARY KEY (day, model, feature)
) WITHOUT ROWID;
