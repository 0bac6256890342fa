-- Decision audit log: one row per slot decision (worker/audit/record.ts documents every field).
-- Visitors appear only by their pseudonymous key; list-like fields are JSON text.
CREATE TABLE decisions (
  decision_id TEXT PRIMARY KEY,
  time INTEGER NOT NULL,
  visitor_key TEXT NOT NULL,
  slot TEXT NOT NULL,
  page TEXT,
  reason TEXT NOT NULL,
  consent_personalization INTEGER NOT NULL,
  consent_analytics INTEGER NOT NULL,
  candidates TEXT NOT NULL,
  excluded TEXT NOT NULL,
  feature_names TEXT NOT NULL,
  features TEXT NOT NULL,
  scores TEXT NOT NULL,
  chosen_block_id TEXT NOT NULL,
  propensity REAL,
  explored INTEGER NOT NULL DEFAULT 0,
  holdout INTEGER NOT NULL,
  holdout_scope TEXT,
  counterfactual_block_id TEXT,
  counterfactual_campaign TEXT,
  campaign TEXT,
  model_version TEXT,
  arm TEXT NOT NULL,
  shadows TEXT NOT NULL,
  latency_ms REAL NOT NULL,
  hash_version TEXT NOT NULL
);
CREATE INDEX decisions_time ON decisions (time, decision_id);
CREATE INDEX decisions_visitor ON decisions (visitor_key, time);
CREATE INDEX decisions_slot ON decisions (slot, time);
CREATE INDEX decisions_model ON decisions (model_version, time);
CREATE INDEX decisions_block ON decisions (chosen_block_id, time);

-- Events from the page (impression, click, conversion, custom), deduplicated by id.
CREATE TABLE events (
  id TEXT PRIMARY KEY,
  time INTEGER NOT NULL,
  type TEXT NOT NULL,
  name TEXT,
  decision_id TEXT,
  visitor_key TEXT NOT NULL,
  block_id TEXT,
  slot TEXT,
  value REAL,
  currency TEXT
);
CREATE INDEX events_time ON events (time);
CREATE INDEX events_decision ON events (decision_id, type);
CREATE INDEX events_visitor ON events (visitor_key, time);
