/**
 * The fold of the outbound per-moment lift (table agg_moment_outbound, migrations/0019): run
 * inside `aggregateStatements` (worker/aggregates/statements.ts) next to the web moment fold
 * (./aggregates.ts), in the same transaction and with the same idempotence (only decisions and
 * events with `agg_applied = 0` among the batch's ids).
 *
 * A row per moment × UTC day × customer holds the customer's first next-action decision in the
 * moment that day (`slot` "next-action", `visitor_key` = the customer's HMAC key, the moment and its
 * KPI in `next_action`: worker/next-action/log.ts) and the moment's KPI events from it to the end of
 * its window, counted from the customer's keys: every device linked to them (customer_devices,
 * written by identify: worker/identity/devices.ts) and their channel-feedback key
 * (visitorKey(customer key), recorded on the decision as `feedbackKey`).
 *  - an event batch adds its KPI events to the rows of the customers the events' keys belong to
 *    (before the events are marked applied);
 *  - a decision batch creates or moves rows, then recounts them from the applied raw events, as
 *    agg_moment_exposures does — so events before and after the decision count alike;
 *  - a new link (identify) or a device's erased events recount the customer's rows
 *    (`outboundRecount`), so KPI events a device sent before it was linked count too.
 * Decisions without a moment, or whose moment had no configured KPI at decision time, are left out.
 */
import { dayOf, idsIn, NEW_DECISION, UNIVERSAL_CONTROL } from "../aggregates/sql.ts";
import { KPI_MATCH } from "./aggregates.ts";

const NA = (d: string, path: string) => `json_extract(${d}.next_action, '$.${path}')`;

/** New next-action decisions of the batch (?1) made in a moment with a KPI. */
const NEW_OUTBOUND = (d: string) =>
  `${NEW_DECISION(d)} AND ${d}.slot = 'next-action' AND ${d}.next_action IS NOT NULL AND ${NA(d, "moment")} IS NOT NULL AND ${NA(d, "momentKpi.event")} IS NOT NULL AND ${NA(d, "feedbackKey")} IS NOT NULL`;

/** The batch's new events (?1), alias given. */
const NEW_EVENT = (e: string) => `${e}.agg_applied = 0 AND ${e}.id IN ${idsIn(1)}`;

/** The keys whose events count for row `x`: its customer's linked devices and feedback key. */
const KEYS_OF = (x: string) => `(SELECT ${x}.feedback_key UNION SELECT l.visitor_key FROM customer_devices l WHERE l.customer_key = ${x}.customer_key)`;

/** Events `e` (besides `where`) that count for row `x`: one of its keys, inside its window, its KPI. */
const COUNTS_FOR = (e: string, x: string) =>
  `${e}.visitor_key IN ${KEYS_OF(x)} AND ${e}.time >= ${x}.first_time AND ${e}.time < ${x}.first_time + ${x}.window_ms AND ${KPI_MATCH(e, `${x}.kpi_event`)}`;

/** `SET` of a recount of row `x` from the applied raw events. */
const RECOUNT_SET = (x: string) => `
  kpi_events = (SELECT COUNT(*) FROM events e WHERE e.agg_applied = 1 AND ${COUNTS_FOR("e", x)}),
  kpi_value = (SELECT COALESCE(SUM(e.value), 0) FROM events e WHERE e.agg_applied = 1 AND ${COUNTS_FOR("e", x)})`;

/** With the batch's events (?1): must run before they are marked applied. */
export const OUTBOUND_EVENT_SQL = [
  `UPDATE agg_moment_outbound AS x SET
     kpi_events = x.kpi_events + (SELECT COUNT(*) FROM events e WHERE ${NEW_EVENT("e")} AND ${COUNTS_FOR("e", "x")}),
     kpi_value = x.kpi_value + (SELECT COALESCE(SUM(e.value), 0) FROM events e WHERE ${NEW_EVENT("e")} AND ${COUNTS_FOR("e", "x")})
   WHERE (x.feedback_key IN (SELECT e2.visitor_key FROM events e2 WHERE ${NEW_EVENT("e2")})
      OR x.customer_key IN (SELECT l.customer_key FROM customer_devices l WHERE l.visitor_key IN (SELECT e2.visitor_key FROM events e2 WHERE ${NEW_EVENT("e2")})))
     -- only rows an event counts for: the customer's other days and moments are not rewritten
     AND EXISTS (SELECT 1 FROM events e WHERE ${NEW_EVENT("e")} AND ${COUNTS_FOR("e", "x")})`,
];

/** With the batch's decisions (?1): after the events of the batch were folded and marked applied. */
export const OUTBOUND_DECISION_SQL = [
  `INSERT INTO agg_moment_outbound (moment, day, customer_key, feedback_key, first_time, decisions, control, kpi_event, window_ms)
   SELECT ${NA("d", "moment")}, ${dayOf("d.time")}, d.visitor_key, MAX(${NA("d", "feedbackKey")}), MIN(d.time), COUNT(*), SUM(${UNIVERSAL_CONTROL("d")}),
     MAX(${NA("d", "momentKpi.event")}), MAX(${NA("d", "momentKpi.windowSeconds")}) * 1000
   FROM decisions d WHERE ${NEW_OUTBOUND("d")} GROUP BY 1, 2, 3
   ON CONFLICT DO UPDATE SET first_time = MIN(first_time, excluded.first_time), decisions = decisions + excluded.decisions, control = control + excluded.control`,
  `UPDATE agg_moment_outbound AS x SET ${RECOUNT_SET("x")}
   WHERE (x.moment, x.day, x.customer_key) IN (
     SELECT ${NA("d", "moment")}, ${dayOf("d.time")}, d.visitor_key FROM decisions d WHERE ${NEW_OUTBOUND("d")})`,
];

/**
 * Recounts the outbound moment rows of one customer (`{ customerKey }`: after identify linked a
 * device) or of every customer a device is linked to (`{ deviceKey }`: after the device's events
 * were erased), from the applied raw events. Idempotent; a no-op when the customer has no rows.
 */
export function outboundRecount(db: D1Database, of: { customerKey: string } | { deviceKey: string }): D1PreparedStatement {
  const where = "customerKey" in of ? "x.customer_key = ?1" : "x.customer_key IN (SELECT l.customer_key FROM customer_devices l WHERE l.visitor_key = ?1)";
  return db.prepare(`UPDATE agg_moment_outbound AS x SET ${RECOUNT_SET("x")} WHERE ${where}`).bind("customerKey" in of ? of.customerKey : of.deviceKey);
}
