-- Activation (issue 18): outbound actions kept by the Outbox Durable Object and delivered to the
-- channel's webhook (worker/activation/). D1 holds what admins query and reports read; the
-- object's own SQLite holds what the alarm needs.

-- Channel webhooks, current version. The signing secret is never stored here: `secret_name`
-- names the Worker secret/var that holds it.
CREATE TABLE activation_channels (
  channel TEXT PRIMARY KEY,
  url TEXT NOT NULL,
  secret_name TEXT NOT NULL,
  enabled INTEGER NOT NULL DEFAULT 1,
  max_attempts INTEGER NOT NULL,
  retry_base_ms INTEGER NOT NULL,
  timeout_ms INTEGER NOT NULL,
  version INTEGER NOT NULL,
  updated_by TEXT NOT NULL,
  updated_at INTEGER NOT NULL
);

-- Every saved version of a channel's configuration (who, when, what).
CREATE TABLE activation_channel_versions (
  channel TEXT NOT NULL,
  version INTEGER NOT NULL,
  config TEXT NOT NULL,
  updated_by TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (channel, version)
);

-- One row per scheduled action (decision id): its state, and the feedback flags the consumer
-- folds idempotently (a flag goes 0 -> 1 once; the counters below move with it).
CREATE TABLE activation_actions (
  decision_id TEXT PRIMARY KEY,
  customer_key TEXT NOT NULL,
  -- visitorKey(customer_key): the visitor_key of channel feedback events about this action (the
  -- provider sends the webhook's customerKey as visitorId), so feedback must name both ids.
  feedback_key TEXT NOT NULL,
  channel TEXT NOT NULL,
  action_id TEXT NOT NULL,
  content_ref TEXT NOT NULL,
  moment TEXT,
  send_at INTEGER NOT NULL,
  -- Local hour of week (0 = Monday 00h) of send_at, -1 when the scheduler did not say.
  hour_of_week INTEGER NOT NULL DEFAULT -1,
  -- "chosen" | "fallback" | "explore" | "" (unknown)
  send_time_arm TEXT NOT NULL DEFAULT '',
  -- 1 when send_at falls on the configured fallback hour.
  fallback_hour INTEGER NOT NULL DEFAULT 0,
  -- scheduled | sending | retrying | sent | failed | cancelled | held_out
  state TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  cancel_reason TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  sent_at INTEGER,
  delivered INTEGER NOT NULL DEFAULT 0,
  opened INTEGER NOT NULL DEFAULT 0,
  clicked INTEGER NOT NULL DEFAULT 0,
  bounced INTEGER NOT NULL DEFAULT 0,
  unsubscribed INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX activation_actions_state ON activation_actions (state, send_at);
CREATE INDEX activation_actions_customer ON activation_actions (customer_key);

-- Every delivery attempt: HTTP status (0 = network error or timeout) and what followed.
CREATE TABLE activation_attempts (
  decision_id TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  time INTEGER NOT NULL,
  status INTEGER NOT NULL,
  -- sent | retry | failed
  outcome TEXT NOT NULL,
  error TEXT,
  next_at INTEGER,
  PRIMARY KEY (decision_id, attempt)
);

-- Engagement aggregates per channel, local hour of week and send-time arm (reports read these).
CREATE TABLE agg_activation (
  channel TEXT NOT NULL,
  hour_of_week INTEGER NOT NULL,
  send_time_arm TEXT NOT NULL,
  fallback_hour INTEGER NOT NULL,
  sent INTEGER NOT NULL DEFAULT 0,
  delivered INTEGER NOT NULL DEFAULT 0,
  opened INTEGER NOT NULL DEFAULT 0,
  clicked INTEGER NOT NULL DEFAULT 0,
  bounced INTEGER NOT NULL DEFAULT 0,
  unsubscribed INTEGER NOT NULL DEFAULT 0,
  -- opened or clicked (counted once per message)
  engaged INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (channel, hour_of_week, send_time_arm, fallback_hour)
);

-- Channel feedback events of the batch being folded (filled and emptied inside one consumer
-- transaction: worker/activation/feedback.ts).
CREATE TABLE activation_feedback_batch (
  decision_id TEXT NOT NULL,
  type TEXT NOT NULL,
  PRIMARY KEY (decision_id, type)
);
