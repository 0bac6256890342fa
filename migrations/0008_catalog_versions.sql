-- Every catalog the admin API saved (worker/catalog-admin/): the whole document, who made it,
-- when, how (`action` on which `target` block or slot) and what changed (`diff`, RFC 6902 JSON
-- Patch operations from the previous version). The newest is the one published to KV.
CREATE TABLE catalog_versions (
  version INTEGER PRIMARY KEY,
  catalog TEXT NOT NULL,
  author TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  action TEXT NOT NULL,
  target TEXT,
  restored_from INTEGER,
  diff TEXT NOT NULL DEFAULT '[]'
);
