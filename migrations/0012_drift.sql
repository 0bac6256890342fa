-- Drift monitoring (issue 15; worker/drift/, worker/aggregates/drift-bins.ts). Days are UTC dates
-- 'YYYY-MM-DD'; `model` is the decision's model_version.

-- Per day × model × feature: candidates per bin. Bins follow the model's manifest histogram for
-- the feature when it has one (quantile edges or categorical values + "other"), else the default
-- grid of worker/drift/baseline.ts (DEFAULT_EDGES). Folded like agg_features: only decisions the
-- batch really inserted.
CREATE TABLE agg_feature_bins (
  day TEXT NOT NULL,
  model TEXT NOT NULL,
  feature TEXT NOT NULL,
  bin INTEGER NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (day, model, feature, bin)
) WITHOUT ROWID;

-- Per day × model (serving and shadow): candidates' scores per bin of the manifest's score
-- baseline edges (models with `baseline.scores` only; the others use agg_scores' 20 fixed bins).
CREATE TABLE agg_score_bins (
  day TEXT NOT NULL,
  model TEXT NOT NULL,
  bin INTEGER NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (day, model, bin)
) WITHOUT ROWID;

-- Calibration of served (ranked, not held out) blocks, per decision day × model × reliability
-- bin of the served block's score (10 equal-width bins): impressions, the sum of the served
-- score over them, and clicks and conversions, folded when the events are attributed.
CREATE TABLE agg_calibration (
  day TEXT NOT NULL,
  model TEXT NOT NULL,
  bin INTEGER NOT NULL,
  impressions INTEGER NOT NULL DEFAULT 0,
  sum_p REAL NOT NULL DEFAULT 0,
  clicks INTEGER NOT NULL DEFAULT 0,
  conversions INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (day, model, bin)
) WITHOUT ROWID;

-- The daily drift time series (worker/drift/compute.ts), recomputed idempotently (upsert).
-- kind: feature | score | outcome | calibration; subject: the feature name, '' for the score,
-- click | conversion for outcomes and calibration. baseline: manifest | first_day | trailing_28d.
-- value: the headline figure (PSI; the day's rate; ECE); figures: every figure, JSON.
CREATE TABLE drift_series (
  model TEXT NOT NULL,
  kind TEXT NOT NULL,
  subject TEXT NOT NULL,
  day TEXT NOT NULL,
  baseline TEXT NOT NULL,
  n INTEGER NOT NULL,
  value REAL,
  status TEXT NOT NULL,
  figures TEXT NOT NULL,
  computed_at INTEGER NOT NULL,
  PRIMARY KEY (model, kind, subject, day)
) WITHOUT ROWID;
CREATE INDEX drift_series_day ON drift_series (day);
