-- Every saved catalog of outbound actions (worker/actions/): the whole document, who saved it,
-- when and how. The newest is in force.
CREATE TABLE action_catalog_versions (
  version INTEGER PRIMARY KEY AUTOINCREMENT,
  catalog TEXT NOT NULL,
  author TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  action TEXT NOT NULL DEFAULT 'put',
  restored_from INTEGER
);
-- Population sends and engagements (opened/clicked) per local hour of week, the prior of the
-- send-time shrinkage (worker/send-time/shrinkage.ts). Counters only: no customer key.
CREATE TABLE send_time_population (
  hour_of_week INTEGER PRIMARY KEY,
  sends INTEGER NOT NULL DEFAULT 0,
  engaged INTEGER NOT NULL DEFAULT 0
);
-- Next-action decisions (worker/next-action/): channel, send time, propensities, as JSON.
ALTER TABLE decisions ADD COLUMN next_action TEXT;
