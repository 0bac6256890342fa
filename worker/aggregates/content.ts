/**
 * The fold statements of the content report (issue 16; tables in migrations/0014): run inside
 * `aggregateStatements` (./statements.ts), so they share its transaction and its idempotence —
 * they read only decisions not yet applied (`agg_applied = 0`) and events not yet attributed.
 *  - agg_fatigue: decisions, impressions and clicks per day × block × the visitor's view count of
 *    that block (decisions.exposure_ordinal, capped at 10 = "10 or more");
 *  - agg_eligibility: per day × slot × block, times in the pool ('' reason) and times excluded per
 *    reason code (the audit row's `candidates` and `excluded`);
 *  - agg_slot_pool: per day × slot, pool sizes and decisions with at most one eligible block.
 */
import { dayOf, idsIn, NEW_DECISION } from "./sql.ts";

/** Highest view count kept exactly; higher ones are folded into it. */
export const MAX_EXPOSURE_BUCKET = 10;

const BUCKET = (d: string) => `MIN(${d}.exposure_ordinal, ${MAX_EXPOSURE_BUCKET})`;

/** With the batch's new decisions (?1). */
export const CONTENT_DECISION_SQL = [
  `INSERT INTO agg_fatigue (day, block_id, exposure, decisions)
   SELECT ${dayOf("d.time")}, d.chosen_block_id, ${BUCKET("d")}, COUNT(*)
   FROM decisions d WHERE ${NEW_DECISION("d")} AND d.exposure_ordinal IS NOT NULL GROUP BY 1, 2, 3
   ON CONFLICT DO UPDATE SET decisions = decisions + excluded.decisions`,
  `INSERT INTO agg_eligibility (day, slot, block_id, reason, n)
   SELECT day, slot, block_id, reason, COUNT(*) FROM (
     SELECT ${dayOf("d.time")} AS day, d.slot AS slot, c.value AS block_id, '' AS reason
     FROM decisions d, json_each(d.candidates) c WHERE ${NEW_DECISION("d")}
     UNION ALL
     SELECT ${dayOf("d.time")}, d.slot, json_extract(x.value, '$.blockId'), json_extract(x.value, '$.reason')
     FROM decisions d, json_each(d.excluded) x WHERE ${NEW_DECISION("d")}
   ) WHERE block_id IS NOT NULL AND reason IS NOT NULL GROUP BY 1, 2, 3, 4
   ON CONFLICT DO UPDATE SET n = n + excluded.n`,
  `INSERT INTO agg_slot_pool (day, slot, decisions, eligible, starved)
   SELECT ${dayOf("d.time")}, d.slot, COUNT(*), SUM(json_array_length(d.candidates)), SUM(json_array_length(d.candidates) <= 1)
   FROM decisions d WHERE ${NEW_DECISION("d")} GROUP BY 1, 2
   ON CONFLICT DO UPDATE SET decisions = decisions + excluded.decisions, eligible = eligible + excluded.eligible, starved = starved + excluded.starved`,
];

/**
 * Attribution of impressions and clicks to the view count of their decision: the events of the
 * batch (?1) and earlier events waiting for a decision of the batch (?2). Must run before
 * statements.ts marks them attributed.
 */
export const CONTENT_ATTRIBUTION_SQL = [
  `INSERT INTO agg_fatigue (day, block_id, exposure, impressions, clicks)
   SELECT ${dayOf("d.time")}, d.chosen_block_id, ${BUCKET("d")}, SUM(e.type = 'impression'), SUM(e.type = 'click')
   FROM events e JOIN decisions d ON d.decision_id = e.decision_id
   WHERE e.agg_attributed = 0 AND (e.id IN ${idsIn(1)} OR e.decision_id IN ${idsIn(2)})
     AND e.type IN ('impression', 'click') AND d.exposure_ordinal IS NOT NULL GROUP BY 1, 2, 3
   ON CONFLICT DO UPDATE SET impressions = impressions + excluded.impressions, clicks = clicks + excluded.clicks`,
];
