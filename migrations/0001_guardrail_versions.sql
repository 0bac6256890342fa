-- Every guardrail configuration ever saved, with who saved it and when; the newest is in force.
CREATE TABLE guardrail_versions (
  version INTEGER PRIMARY KEY AUTOINCREMENT,
  config TEXT NOT NULL,
  author TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
