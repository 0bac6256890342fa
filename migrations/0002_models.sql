-- Model registry: every accepted ONNX model. The file itself is in R2 (binding MODELS) under
-- sha256/<id>; `id` is the file's SHA-256 (hex), so uploading the same bytes twice is one model.
CREATE TABLE models (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,             -- the manifest's name
  version TEXT NOT NULL,          -- name@sha12: what decisions record as modelVersion
  size_bytes INTEGER NOT NULL,
  manifest TEXT NOT NULL,         -- JSON
  report TEXT NOT NULL,           -- the validation report, JSON
  uploaded_by TEXT NOT NULL,
  uploaded_at INTEGER NOT NULL    -- ms since the epoch
);
CREATE INDEX models_uploaded_at ON models (uploaded_at);

-- Which models serve (champion, challenger and its share, shadows), as an append-only log: the
-- highest revision is in force. Two admins writing the same revision collide on the primary key
-- and the second gets 409 instead of silently overwriting the first.
CREATE TABLE model_deployments (
  revision INTEGER PRIMARY KEY,
  action TEXT NOT NULL,           -- activate | rollback | challenger | shadow_add | shadow_remove
  model_id TEXT,                  -- the model the action named (the new champion for rollback)
  state TEXT NOT NULL,            -- JSON: { champion, history, challenger, shadows }
  actor TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX model_deployments_model ON model_deployments (model_id, revision);
