-- Content performance and fatigue (issue 16; worker/aggregates/content.ts folds these,
-- worker/reports/content.ts reads them). Days are UTC dates 'YYYY-MM-DD' of the decision.

-- The visitor's view count of the served block with this decision (1 = first view), from the
-- visitor's Durable Object at decide time; NULL when unknown (holdouts, fallback without state).
ALTER TABLE decisions ADD COLUMN exposure_ordinal INTEGER;

-- Σ value² of attributed conversions, for the revenue interval (rows folded before this
-- migration keep 0: the report then gives no revenue interval rather than a false one).
ALTER TABLE agg_daily_value ADD COLUMN value_sq REAL NOT NULL DEFAULT 0;

-- Fatigue: decisions and the impressions and clicks about them, per day × block × view count of
-- that block by the same visitor (1..9 exact, 10 = 10 or more).
CREATE TABLE agg_fatigue (
  day TEXT NOT NULL,
  block_id TEXT NOT NULL,
  exposure INTEGER NOT NULL,
  decisions INTEGER NOT NULL DEFAULT 0,
  impressions INTEGER NOT NULL DEFAULT 0,
  clicks INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (day, block_id, exposure)
) WITHOUT ROWID;

-- Eligibility: per day × slot × block, how often the block was in the pool a decision drew from
-- (eligible) and how often each rule excluded it (reason code of worker/guardrails/reasons.ts).
CREATE TABLE agg_eligibility (
  day TEXT NOT NULL,
  slot TEXT NOT NULL,
  block_id TEXT NOT NULL,
  reason TEXT NOT NULL, -- '' = eligible (in the pool)
  n INTEGER NOT NULL,
  PRIMARY KEY (day, slot, block_id, reason)
) WITHOUT ROWID;

-- Pool sizes per day × slot: decisions, Σ eligible blocks, decisions with at most one eligible block.
CREATE TABLE agg_slot_pool (
  day TEXT NOT NULL,
  slot TEXT NOT NULL,
  decisions INTEGER NOT NULL,
  eligible INTEGER NOT NULL,
  starved INTEGER NOT NULL,
  PRIMARY KEY (day, slot)
) WITHOUT ROWID;
