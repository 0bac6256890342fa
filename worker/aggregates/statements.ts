/**
 * Incremental, idempotent aggregation of the log (issue 13): the statements a consumer appends to
 * the same `db.batch()` (one SQLite transaction) as its `INSERT OR IGNORE` of decisions and
 * events. Each statement folds only rows not yet applied (`agg_applied = 0`) among the ids given,
 * and the last ones mark them applied, so a redelivered batch changes nothing. Events whose
 * decision is not there yet still count for their visitor at once; they are attributed to the
 * decision's slot, block, model and group (agg_daily) when the decision arrives.
 *
 * Tables: migrations/0006_aggregates.sql. Order matters and is part of the contract:
 *  1. events: KPI totals per day, visitor outcomes per day, visitor outcomes since each known
 *     exposure on the same day; then events are marked applied;
 *  2. decisions: agg_daily counts, visitor exposures per experiment; same-day outcomes for each new
 *     first exposure (a late decision can move one earlier: the outcomes of the old one are
 *     dropped and the new one's are built from the events up to the next known exposure plus that
 *     exposure's outcomes); drift sums;
 *  3. attribution of events to decisions (the events of this batch, and earlier events waiting for
 *     a decision of this batch);
 *  4. decisions are marked applied.
 */
import { DAY_MS, GROUP_OF, NEW_DECISION, UNIVERSAL_CONTROL, dayOf, dayStartOf, idsIn } from "./sql.ts";
import { CONTENT_ATTRIBUTION_SQL, CONTENT_DECISION_SQL } from "./content.ts";
import { DRIFT_TABLES, driftRows, type DriftSource } from "./drift.ts";
import { CALIBRATION_ATTRIBUTION_SQL, DRIFT_BIN_TABLES, driftBinnings, driftBinRows, type DriftBinnings } from "./drift-bins.ts";
import { foldStatements } from "./drift-fold.ts";
import { HEALTH_DECISION_SQL } from "./health.ts";
import { MOMENT_ATTRIBUTION_SQL, MOMENT_DECISION_SQL, MOMENT_EVENT_SQL } from "../moments/aggregates.ts";
import { OUTBOUND_DECISION_SQL, OUTBOUND_EVENT_SQL } from "../moments/outbound-aggregates.ts";

/** The raw rows a batch inserted (or tried to: duplicates are skipped by the applied flags). */
export interface AggregateIds {
  decisionIds: string[];
  eventIds: string[];
  /**
   * The decisions themselves (at least those of `decisionIds`), for the drift sums computed in
   * JavaScript (worker/aggregates/drift.ts). Required when `decisionIds` is not empty.
   */
  decisions?: DriftSource[];
  /**
   * How each model version's features and scores are binned for drift (./drift-bins.ts,
   * `driftBinnings`); versions not in it use the default grid.
   */
  binnings?: DriftBinnings;
}

const NEW_EVENT = (e: string) => `${e}.agg_applied = 0 AND ${e}.id IN ${idsIn(1)}`;
const MEASURABLE = (d: string) => `${d}.consent_personalization = 1 AND ${d}.consent_analytics = 1`;

const EVENT_SQL = [
  // KPI totals per day (which KPIs and currencies exist).
  `INSERT INTO agg_kpi_daily (day, type, name, currency, events, valued, value)
   SELECT ${dayOf("e.time")}, e.type, COALESCE(e.name, ''), COALESCE(e.currency, ''), COUNT(*), COUNT(e.value), COALESCE(SUM(e.value), 0)
   FROM events e WHERE ${NEW_EVENT("e")} GROUP BY 1, 2, 3, 4
   ON CONFLICT DO UPDATE SET events = events + excluded.events, valued = valued + excluded.valued, value = value + excluded.value`,
  // Visitor outcomes per day.
  `INSERT INTO agg_visitor_days (visitor_key, day, type, name, currency, events, value)
   SELECT e.visitor_key, ${dayOf("e.time")}, e.type, COALESCE(e.name, ''), COALESCE(e.currency, ''), COUNT(*), COALESCE(SUM(e.value), 0)
   FROM events e WHERE ${NEW_EVENT("e")} GROUP BY 1, 2, 3, 4, 5
   ON CONFLICT DO UPDATE SET events = events + excluded.events, value = value + excluded.value`,
  // Same-day outcomes since each exposure already known for the visitor at or before the event.
  `INSERT INTO agg_since (visitor_key, since, type, name, currency, events, value)
   SELECT e.visitor_key, f.first_time, e.type, COALESCE(e.name, ''), COALESCE(e.currency, ''), COUNT(*), COALESCE(SUM(e.value), 0)
   FROM events e JOIN (
     SELECT DISTINCT x.visitor_key, x.first_time FROM agg_exposures x
     WHERE x.visitor_key IN (SELECT e2.visitor_key FROM events e2 WHERE ${NEW_EVENT("e2")})
   ) f ON f.visitor_key = e.visitor_key AND f.first_time <= e.time AND f.first_time >= ${dayStartOf("e.time")}
   WHERE ${NEW_EVENT("e")} GROUP BY 1, 2, 3, 4, 5
   ON CONFLICT DO UPDATE SET events = events + excluded.events, value = value + excluded.value`,
  ...MOMENT_EVENT_SQL,
  ...OUTBOUND_EVENT_SQL,
  `UPDATE events SET agg_applied = 1 WHERE agg_applied = 0 AND id IN ${idsIn(1)}`,
];

/** Visitor-days touched by the new decisions. */
const TOUCHED = `touched AS (
  SELECT DISTINCT d.visitor_key, ${dayStartOf("d.time")} AS start FROM decisions d WHERE ${NEW_DECISION("d")} AND ${MEASURABLE("d")})`;

/** The next first exposure (ms) of the same visitor and day that was already maintained, else NULL. */
const NEXT_KNOWN = (n: string) => `(SELECT MIN(x.first_time) FROM agg_exposures x
  WHERE x.visitor_key = ${n}.visitor_key AND x.first_time > ${n}.since AND x.first_time < ${dayStartOf(`${n}.since`)} + ${DAY_MS}
    AND NOT EXISTS (SELECT 1 FROM agg_new_since m WHERE m.visitor_key = x.visitor_key AND m.since = x.first_time))`;

const EXPOSURE_SQL = [
  // Candidate new first exposures: decision times that are nobody's first exposure yet.
  `INSERT OR IGNORE INTO agg_new_since (visitor_key, since)
   SELECT d.visitor_key, d.time FROM decisions d
   WHERE ${NEW_DECISION("d")} AND ${MEASURABLE("d")}
     AND NOT EXISTS (SELECT 1 FROM agg_exposures x WHERE x.visitor_key = d.visitor_key AND x.first_time = d.time)`,
  // The universal experiment: every measurable decision; control = the universal control group.
  `INSERT INTO agg_exposures (experiment, day, visitor_key, slot, model, first_time, decisions, control)
   SELECT 'universal', ${dayOf("d.time")}, d.visitor_key, d.slot, COALESCE(d.model_version, ''), MIN(d.time), COUNT(*), SUM(${UNIVERSAL_CONTROL("d")})
   FROM decisions d WHERE ${NEW_DECISION("d")} AND ${MEASURABLE("d")} GROUP BY 2, 3, 4, 5
   ON CONFLICT DO UPDATE SET first_time = MIN(first_time, excluded.first_time), decisions = decisions + excluded.decisions, control = control + excluded.control`,
  // A campaign's experiment: served the campaign (treatment) vs held out (universal or campaign
  // holdout) while the model would have served it.
  `INSERT INTO agg_exposures (experiment, day, visitor_key, slot, model, first_time, decisions, control)
   SELECT 'campaign:' || CASE WHEN d.holdout = 1 THEN d.counterfactual_campaign ELSE d.campaign END,
     ${dayOf("d.time")}, d.visitor_key, d.slot, COALESCE(d.model_version, ''), MIN(d.time), COUNT(*), SUM(d.holdout)
   FROM decisions d
   WHERE ${NEW_DECISION("d")} AND ${MEASURABLE("d")}
     AND ((d.holdout = 0 AND d.campaign IS NOT NULL) OR (d.holdout = 1 AND d.counterfactual_campaign IS NOT NULL))
   GROUP BY 1, 2, 3, 4, 5
   ON CONFLICT DO UPDATE SET first_time = MIN(first_time, excluded.first_time), decisions = decisions + excluded.decisions, control = control + excluded.control`,
  // Keep only candidates that became a first exposure, and drop outcome rows of first exposures
  // that a late decision moved earlier.
  `DELETE FROM agg_new_since WHERE NOT EXISTS (
     SELECT 1 FROM agg_exposures x WHERE x.visitor_key = agg_new_since.visitor_key AND x.first_time = agg_new_since.since)`,
  `WITH ${TOUCHED}
   DELETE FROM agg_since WHERE (visitor_key, since) IN (
     SELECT s.visitor_key, s.since FROM touched t JOIN agg_since s ON s.visitor_key = t.visitor_key AND s.since >= t.start AND s.since < t.start + ${DAY_MS}
     WHERE NOT EXISTS (SELECT 1 FROM agg_exposures x WHERE x.visitor_key = s.visitor_key AND x.first_time = s.since))`,
  // Outcomes since a new first exposure F: the (applied) events from F up to the next first
  // exposure already maintained that day, plus that one's outcomes — so only recent raw events are
  // read, never a day the D1 window may have pruned (unless the decision itself arrives late).
  `WITH pairs AS (SELECT n.visitor_key, n.since, ${NEXT_KNOWN("n")} AS next FROM agg_new_since n)
   INSERT INTO agg_since (visitor_key, since, type, name, currency, events, value)
   SELECT visitor_key, since, type, name, currency, SUM(events), SUM(value) FROM (
     SELECT p.visitor_key, p.since, e.type, COALESCE(e.name, '') AS name, COALESCE(e.currency, '') AS currency, 1 AS events, COALESCE(e.value, 0) AS value
     FROM pairs p JOIN events e ON e.visitor_key = p.visitor_key AND e.time >= p.since
       AND e.time < COALESCE(p.next, ${dayStartOf("p.since")} + ${DAY_MS}) AND e.agg_applied = 1
     UNION ALL
     SELECT p.visitor_key, p.since, s.type, s.name, s.currency, s.events, s.value
     FROM pairs p JOIN agg_since s ON s.visitor_key = p.visitor_key AND s.since = p.next
   ) WHERE true GROUP BY 1, 2, 3, 4, 5`,
  `DELETE FROM agg_new_since`,
];

const DECISION_SQL = [
  `INSERT INTO agg_daily (day, slot, block_id, model, arm, grp, decisions)
   SELECT ${dayOf("d.time")}, d.slot, d.chosen_block_id, COALESCE(d.model_version, ''), d.arm, ${GROUP_OF("d")}, COUNT(*)
   FROM decisions d WHERE ${NEW_DECISION("d")} GROUP BY 1, 2, 3, 4, 5, 6
   ON CONFLICT DO UPDATE SET decisions = decisions + excluded.decisions`,
  ...EXPOSURE_SQL,
  ...CONTENT_DECISION_SQL,
  ...HEALTH_DECISION_SQL,
  ...MOMENT_DECISION_SQL,
  ...OUTBOUND_DECISION_SQL,
];

const PENDING_EVENT = (e: string) => `${e}.agg_attributed = 0 AND (${e}.id IN ${idsIn(1)} OR ${e}.decision_id IN ${idsIn(2)})`;

const ATTRIBUTION_SQL = [
  `INSERT INTO agg_daily (day, slot, block_id, model, arm, grp, impressions, clicks, conversions)
   SELECT ${dayOf("d.time")}, d.slot, d.chosen_block_id, COALESCE(d.model_version, ''), d.arm, ${GROUP_OF("d")},
     SUM(e.type = 'impression'), SUM(e.type = 'click'), SUM(e.type = 'conversion')
   FROM events e JOIN decisions d ON d.decision_id = e.decision_id
   WHERE ${PENDING_EVENT("e")} AND e.type IN ('impression', 'click', 'conversion') GROUP BY 1, 2, 3, 4, 5, 6
   ON CONFLICT DO UPDATE SET impressions = impressions + excluded.impressions, clicks = clicks + excluded.clicks, conversions = conversions + excluded.conversions`,
  `INSERT INTO agg_daily_value (day, slot, block_id, model, arm, grp, currency, conversions, value, value_sq)
   SELECT ${dayOf("d.time")}, d.slot, d.chosen_block_id, COALESCE(d.model_version, ''), d.arm, ${GROUP_OF("d")},
     COALESCE(e.currency, ''), COUNT(*), COALESCE(SUM(e.value), 0), COALESCE(SUM(e.value * e.value), 0)
   FROM events e JOIN decisions d ON d.decision_id = e.decision_id
   WHERE ${PENDING_EVENT("e")} AND e.type = 'conversion' GROUP BY 1, 2, 3, 4, 5, 6, 7
   ON CONFLICT DO UPDATE SET conversions = conversions + excluded.conversions, value = value + excluded.value, value_sq = value_sq + excluded.value_sq`,
  ...CONTENT_ATTRIBUTION_SQL,
  CALIBRATION_ATTRIBUTION_SQL,
  ...MOMENT_ATTRIBUTION_SQL,
  `UPDATE events SET agg_attributed = 1
   WHERE agg_attributed = 0 AND (id IN ${idsIn(1)} OR decision_id IN ${idsIn(2)})
     AND EXISTS (SELECT 1 FROM decisions d WHERE d.decision_id = events.decision_id)`,
];

const MARK_DECISIONS = `UPDATE decisions SET agg_applied = 1 WHERE agg_applied = 0 AND decision_id IN ${idsIn(1)}`;

/**
 * The statements that fold the given decisions and events into the aggregates, for the caller's
 * `db.batch([...inserts, ...aggregateStatements(db, ids)])`: run after the inserts, in the same
 * batch. Running them again (a redelivery), or with events before their decisions, leaves the
 * aggregates as if every row had been folded once. Ids are bound as one JSON array each, so a
 * batch of any size stays within D1's 100 bound parameters per statement.
 */
export function aggregateStatements(db: D1Database, ids: AggregateIds): D1PreparedStatement[] {
  const events = JSON.stringify(ids.eventIds);
  const decisions = JSON.stringify(ids.decisionIds);
  // D1 refuses more arguments than the statement's highest ?N.
  const prepare = (sql: string, ...args: unknown[]) => {
    const n = Math.max(0, ...[...sql.matchAll(/\?(\d+)/g)].map((m) => Number(m[1])));
    return n ? db.prepare(sql).bind(...args.slice(0, n)) : db.prepare(sql);
  };
  const out: D1PreparedStatement[] = [];
  if (ids.eventIds.length) out.push(...EVENT_SQL.map((sql) => prepare(sql, events)));
  if (ids.decisionIds.length) {
    if (!ids.decisions) throw new Error("aggregateStatements: the decisions' records are needed for the drift sums");
    out.push(...DECISION_SQL.map((sql) => prepare(sql, decisions)));
    const wanted = new Set(ids.decisionIds);
    // One record per decision id, the first, as `INSERT OR IGNORE` keeps the first row: a record
    // sent twice (in two messages of a batch) counts once, as its row in `decisions` does.
    const first = new Map<string, DriftSource>();
    for (const d of ids.decisions) if (wanted.has(d.decisionId) && !first.has(d.decisionId)) first.set(d.decisionId, d);
    const sources = [...first.values()];
    const fold = (table: Parameters<typeof foldStatements>[1], rows: Parameters<typeof foldStatements>[2]) => foldStatements(prepare, table, rows, decisions, wanted.size);
    const drift = driftRows(sources);
    const bins = driftBinRows(sources, ids.binnings);
    out.push(...fold(DRIFT_TABLES.scores, drift.scores), ...fold(DRIFT_TABLES.features, drift.features));
    out.push(...fold(DRIFT_BIN_TABLES.features, bins.features), ...fold(DRIFT_BIN_TABLES.scores, bins.scores));
  }
  if (ids.eventIds.length || ids.decisionIds.length) out.push(...ATTRIBUTION_SQL.map((sql) => prepare(sql, events, decisions)));
  if (ids.decisionIds.length) out.push(prepare(MARK_DECISIONS, decisions));
  return out;
}

/**
 * Folds rows that are in D1 but not yet applied (rows written before migration 0006, or by a
 * writer that did not append the statements), `limit` of each at a time; returns how many
 * decisions and events it folded. Idempotent like the statements themselves.
 */
export async function foldPending(db: D1Database, limit = 500): Promise<{ decisions: number; events: number }> {
  type Pending = { id: string; time: number; model_version: string | null; feature_names: string; features: string; scores: string; shadows: string };
  const [d, e] = await db.batch<Pending>([
    db.prepare("SELECT decision_id AS id, time, model_version, feature_names, features, scores, shadows FROM decisions WHERE agg_applied = 0 LIMIT ?").bind(limit),
    db.prepare("SELECT id FROM events WHERE agg_applied = 0 LIMIT ?").bind(limit),
  ]);
  const decisions: DriftSource[] = d!.results.map((r) => ({
    decisionId: r.id,
    time: r.time,
    modelVersion: r.model_version,
    featureNames: JSON.parse(r.feature_names),
    features: JSON.parse(r.features),
    scores: JSON.parse(r.scores),
    shadows: JSON.parse(r.shadows),
  }));
  const ids = { decisionIds: decisions.map((r) => r.decisionId), eventIds: e!.results.map((r) => r.id), decisions, binnings: await driftBinnings(db, decisions) };
  const statements = aggregateStatements(db, ids);
  if (statements.length) await db.batch(statements);
  return { decisions: ids.decisionIds.length, events: ids.eventIds.length };
}
