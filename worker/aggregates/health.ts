/**
 * The decision-health fold (issue 15; table agg_decision_health in migrations/0013): decisions
 * per UTC day × model × reason × fallback cause. Run inside `aggregateStatements`
 * (./statements.ts) with the batch's new decisions (?1), so it shares that transaction and its
 * idempotence (only decisions with `agg_applied = 0` are read; they are marked applied after).
 * The operational checks (worker/incidents/checks.ts) read the fallback rate, latency-budget
 * misses and model load failures from it.
 */
import { dayOf, NEW_DECISION } from "./sql.ts";

/** With the batch's new decisions (?1). */
export const HEALTH_DECISION_SQL = [
  `INSERT INTO agg_decision_health (day, model, reason, cause, decisions)
   SELECT ${dayOf("d.time")}, COALESCE(d.model_version, ''), d.reason, COALESCE(d.fallback_cause, ''), COUNT(*)
   FROM decisions d WHERE ${NEW_DECISION("d")} GROUP BY 1, 2, 3, 4
   ON CONFLICT DO UPDATE SET decisions = decisions + excluded.decisions`,
];
