-- Health of the log pipeline (worker/pipeline/): counters kept by the producer (records sent,
-- records lost because the queue refused them) and by the consumer (records stored, batches,
-- last batch time). `value` is a count, or a time in ms for *_at names.
CREATE TABLE pipeline_stats (
  name TEXT PRIMARY KEY,
  value INTEGER NOT NULL DEFAULT 0,
  -- The latest error, for counters of failures.
  note TEXT,
  updated_at INTEGER NOT NULL DEFAULT 0
);

-- Messages of the log queue that could not be written: refused by the schema, or still failing
-- after the consumer's bounded retries. Kept for GET /admin/pipeline and for replaying by hand.
CREATE TABLE dead_letters (
  -- The id of the message as the log queue delivered it (a redelivered dead letter is kept once).
  source_id TEXT PRIMARY KEY,
  time INTEGER NOT NULL,
  kind TEXT,
  records INTEGER NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 0,
  error TEXT NOT NULL,
  -- The message body as JSON, cut at 64 KB.
  body TEXT NOT NULL
);
CREATE INDEX dead_letters_time ON dead_letters (time);
