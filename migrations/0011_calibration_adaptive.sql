-- Issue 14 items 3 and 4.

-- Calibration maps: versioned post-processing steps of a model (worker/calibration/store.ts).
-- `n` numbers a model's calibrations (1, 2, …): decisions it serves record `<version>+cal<n>`.
-- Only the newest row with active = 1 is applied; DELETE /admin/models/:id/calibration adds none,
-- it sets active = 0 on all, so the history stays.
CREATE TABLE model_calibrations (
  model_id TEXT NOT NULL,
  n INTEGER NOT NULL,
  method TEXT NOT NULL,
  -- JSON: the map (worker/calibration/fit.ts CalibrationMap)
  map TEXT NOT NULL,
  -- JSON: the logged window and counts it was fitted on, the metrics before and after
  fitted TEXT NOT NULL,
  active INTEGER NOT NULL DEFAULT 1,
  created_by TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (model_id, n)
) WITHOUT ROWID;

-- Adaptive models (worker/adaptive/): one row per model with the learner's cursor and the state
-- revision (bumped by every update; `writer` makes concurrent updaters lose cleanly), and the
-- per-block posteriors (JSON arrays: intercept first, then the feature list in `features`).
CREATE TABLE adaptive_models (
  model_id TEXT PRIMARY KEY,
  revision INTEGER NOT NULL,
  features TEXT NOT NULL,
  cursor_time INTEGER NOT NULL,
  cursor_id TEXT NOT NULL,
  writer TEXT NOT NULL,
  updated_at INTEGER NOT NULL
);

CREATE TABLE adaptive_blocks (
  model_id TEXT NOT NULL,
  block_id TEXT NOT NULL,
  mean TEXT NOT NULL,
  precision TEXT NOT NULL,
  n INTEGER NOT NULL,
  positives INTEGER NOT NULL,
  revision INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (model_id, block_id)
) WITHOUT ROWID;
