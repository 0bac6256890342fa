/**
 * The fold statements of the moment reports (tables in migrations/0016_moments.sql), run inside
 * `aggregateStatements` (worker/aggregates/statements.ts): same transaction, same idempotence
 * (they read only decisions with `agg_applied = 0` and events with `agg_applied = 0` /
 * `agg_attributed = 0` among the batch's ids).
 *
 * agg_moment_exposures holds, per moment × day × visitor, the first decision in the moment that
 * day and the KPI events from it to the end of the moment's attribution window:
 *  - an event batch adds its KPI events to the rows whose window holds them (before events are
 *    marked applied);
 *  - a decision batch creates or moves rows, then recounts those rows from the (applied) raw
 *    events — the recount, not an increment, so a late decision that moves `first_time` earlier
 *    gives the same figures as if it had come first. (Raw events are kept in D1 for its window:
 *    a decision arriving after its events were pruned counts only later events.)
 * agg_moment_blocks: decisions per moment × day × block × group, and the impressions, clicks and
 * KPI events (within the window) attributed to them by decision id.
 */
import { dayOf, GROUP_OF, idsIn, NEW_DECISION, UNIVERSAL_CONTROL } from "../aggregates/sql.ts";

const MEASURABLE = (d: string) => `${d}.consent_personalization = 1 AND ${d}.consent_analytics = 1`;

/** Does event `e` count for the KPI named by SQL expression `kpi` (a standard type, else a custom name)? */
export const KPI_MATCH = (e: string, kpi: string) =>
  `(CASE WHEN ${kpi} IN ('conversion', 'click', 'impression') THEN ${e}.type = ${kpi} AND COALESCE(${e}.name, '') = '' ELSE ${e}.type = 'custom' AND ${e}.name = ${kpi} END)`;

/** The batch's new events (?1), alias given. */
const NEW_EVENT = (e: string) => `${e}.agg_applied = 0 AND ${e}.id IN ${idsIn(1)}`;

/** With the batch's events (?1): must run before they are marked applied. */
export const MOMENT_EVENT_SQL = [
  `UPDATE agg_moment_exposures AS x SET
     kpi_events = x.kpi_events + (SELECT COUNT(*) FROM events e WHERE ${NEW_EVENT("e")} AND e.visitor_key = x.visitor_key
       AND e.time >= x.first_time AND e.time < x.first_time + x.window_ms AND ${KPI_MATCH("e", "x.kpi_event")}),
     kpi_value = x.kpi_value + (SELECT COALESCE(SUM(e.value), 0) FROM events e WHERE ${NEW_EVENT("e")} AND e.visitor_key = x.visitor_key
       AND e.time >= x.first_time AND e.time < x.first_time + x.window_ms AND ${KPI_MATCH("e", "x.kpi_event")})
   WHERE x.visitor_key IN (SELECT e2.visitor_key FROM events e2 WHERE ${NEW_EVENT("e2")})`,
];

/** The batch's new decisions' (moment, day, visitor) rows. */
const NEW_MOMENT_ROWS = `SELECT json_extract(m.value, '$.id') AS moment, ${dayOf("d.time")} AS day, d.visitor_key AS visitor_key
  FROM decisions d, json_each(d.moments) m WHERE ${NEW_DECISION("d")} AND d.moments IS NOT NULL AND ${MEASURABLE("d")}`;

/** With the batch's decisions (?1): after the events of the batch were folded and marked. */
export const MOMENT_DECISION_SQL = [
  `INSERT INTO agg_moment_exposures (moment, day, visitor_key, first_time, decisions, control, kpi_event, window_ms)
   SELECT json_extract(m.value, '$.id'), ${dayOf("d.time")}, d.visitor_key, MIN(d.time), COUNT(*), SUM(${UNIVERSAL_CONTROL("d")}),
     COALESCE(json_extract(m.value, '$.event'), 'conversion'), COALESCE(MAX(json_extract(m.value, '$.windowSeconds')), 86400) * 1000
   FROM decisions d, json_each(d.moments) m
   WHERE ${NEW_DECISION("d")} AND d.moments IS NOT NULL AND ${MEASURABLE("d")} GROUP BY 1, 2, 3
   ON CONFLICT DO UPDATE SET first_time = MIN(first_time, excluded.first_time), decisions = decisions + excluded.decisions, control = control + excluded.control`,
  `UPDATE agg_moment_exposures AS x SET
     kpi_events = (SELECT COUNT(*) FROM events e WHERE e.visitor_key = x.visitor_key AND e.agg_applied = 1
       AND e.time >= x.first_time AND e.time < x.first_time + x.window_ms AND ${KPI_MATCH("e", "x.kpi_event")}),
     kpi_value = (SELECT COALESCE(SUM(e.value), 0) FROM events e WHERE e.visitor_key = x.visitor_key AND e.agg_applied = 1
       AND e.time >= x.first_time AND e.time < x.first_time + x.window_ms AND ${KPI_MATCH("e", "x.kpi_event")})
   WHERE (x.moment, x.day, x.visitor_key) IN (${NEW_MOMENT_ROWS})`,
  `INSERT INTO agg_moment_blocks (moment, day, block_id, grp, decisions)
   SELECT json_extract(m.value, '$.id'), ${dayOf("d.time")}, d.chosen_block_id, ${GROUP_OF("d")}, COUNT(*)
   FROM decisions d, json_each(d.moments) m WHERE ${NEW_DECISION("d")} AND d.moments IS NOT NULL GROUP BY 1, 2, 3, 4
   ON CONFLICT DO UPDATE SET decisions = decisions + excluded.decisions`,
];

/** Events of the batch (?1) and earlier events waiting for a decision of the batch (?2); before they are marked attributed. */
export const MOMENT_ATTRIBUTION_SQL = [
  `INSERT INTO agg_moment_blocks (moment, day, block_id, grp, impressions, clicks, kpi_events)
   SELECT json_extract(m.value, '$.id'), ${dayOf("d.time")}, d.chosen_block_id, ${GROUP_OF("d")},
     SUM(e.type = 'impression'), SUM(e.type = 'click'),
     SUM(${KPI_MATCH("e", "json_extract(m.value, '$.event')")} AND e.time >= d.time AND e.time < d.time + json_extract(m.value, '$.windowSeconds') * 1000)
   FROM events e JOIN decisions d ON d.decision_id = e.decision_id, json_each(d.moments) m
   WHERE e.agg_attributed = 0 AND (e.id IN ${idsIn(1)} OR e.decision_id IN ${idsIn(2)}) AND d.moments IS NOT NULL
   GROUP BY 1, 2, 3, 4
   ON CONFLICT DO UPDATE SET impressions = impressions + excluded.impressions, clicks = clicks + excluded.clicks, kpi_events = kpi_events + excluded.kpi_events`,
];
