-- The Parquet lake in R2 (worker/lake/, docs/lake.md): a ledger that makes every decision and
-- event land in exactly one lake file.
-- A row's `lake_file` is the key of the file it was claimed for; NULL until a flush claims it.
ALTER TABLE decisions ADD COLUMN lake_file TEXT;
ALTER TABLE events ADD COLUMN lake_file TEXT;
-- Finds unflushed rows in time order (lake_file IS NULL) and a file's rows (lake_file = key).
CREATE INDEX decisions_lake ON decisions (lake_file, time);
CREATE INDEX events_lake ON events (lake_file, time);

-- One row per lake file: claimed (written_at NULL) until the object is in R2, then written.
-- A claimed file whose object is missing or partial is rewritten from its rows, under its key.
CREATE TABLE lake_files (
  key TEXT PRIMARY KEY,
  tbl TEXT NOT NULL CHECK (tbl IN ('decisions', 'events')),
  -- Start of the hour partition the file's rows belong to, ms since the epoch.
  hour INTEGER NOT NULL,
  rows INTEGER NOT NULL DEFAULT 0,
  bytes INTEGER,
  claimed_at INTEGER NOT NULL,
  written_at INTEGER
);
CREATE INDEX lake_files_pending ON lake_files (written_at, key);

-- Erasure reaches the lake: a visitor's erased rows are removed from the lake files that hold
-- them by rewriting those files (worker/lake/erase.ts), in batches run by the cron.
CREATE TABLE lake_erasures (
  visitor_key TEXT NOT NULL,
  tbl TEXT NOT NULL CHECK (tbl IN ('decisions', 'events')),
  requested_at INTEGER NOT NULL,
  done_at INTEGER,
  PRIMARY KEY (visitor_key, tbl)
);
