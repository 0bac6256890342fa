-- Per-moment KPI lift of outbound decisions (issue 18; worker/moments/outbound-aggregates.ts).

-- The devices (visitor keys) linked to each customer (HMAC key, worker/identity/keys.ts): a D1 copy
-- of the customer object's merged visitors (worker/visitor/visitor-state.ts `link`), written by
-- identify (worker/identity/devices.ts) so the log consumer can count a customer's KPI events from
-- any of their devices. Pseudonymous keys only. A device relinked to another customer (a shared
-- device) stays listed for both, as in the objects. Erasure and consent withdrawal remove rows
-- with the link (worker/erasure/erase.ts, worker/consent/route.ts).
CREATE TABLE customer_devices (
  customer_key TEXT NOT NULL,
  visitor_key TEXT NOT NULL,
  linked_at INTEGER NOT NULL,
  PRIMARY KEY (customer_key, visitor_key)
) WITHOUT ROWID;
CREATE INDEX customer_devices_visitor ON customer_devices (visitor_key);

-- Per moment × UTC day × customer: the first next-action decision in the moment that day,
-- decisions, how many were held out (universal control), the moment's KPI and window as recorded on
-- the decision, the customer's channel-feedback key (visitorKey(customer_key), migrations/0018),
-- and the KPI events (and their value) from any linked device or the feedback key from
-- `first_time` to `first_time + window_ms`.
CREATE TABLE agg_moment_outbound (
  moment TEXT NOT NULL,
  day TEXT NOT NULL,
  customer_key TEXT NOT NULL,
  feedback_key TEXT NOT NULL,
  first_time INTEGER NOT NULL,
  decisions INTEGER NOT NULL,
  control INTEGER NOT NULL,
  kpi_event TEXT NOT NULL,
  window_ms INTEGER NOT NULL,
  kpi_events INTEGER NOT NULL DEFAULT 0,
  kpi_value REAL NOT NULL DEFAULT 0,
  PRIMARY KEY (moment, day, customer_key)
) WITHOUT ROWID;
CREATE INDEX agg_moment_outbound_customer ON agg_moment_outbound (customer_key);
CREATE INDEX agg_moment_outbound_feedback ON agg_moment_outbound (feedback_key);
