/**
 * SQL fragments shared by the fold statements and the reports that read the aggregates.
 * Days are UTC dates ('YYYY-MM-DD'), computed from ms since the epoch.
 */

/** Milliseconds in a UTC day. */
export const DAY_MS = 86_400_000;

/** The UTC date of a ms timestamp column, as 'YYYY-MM-DD'. */
export const dayOf = (column: string) => `date(${column} / 1000, 'unixepoch')`;

/** Start (ms) of the UTC day of a ms timestamp column. */
export const dayStartOf = (column: string) => `(${column} - ${column} % ${DAY_MS})`;

/** The rows of a JSON array of ids bound at parameter `?n`: `col IN ${idsIn(1)}`. */
export const idsIn = (n: number) => `(SELECT value FROM json_each(?${n}))`;

/** New decisions of the batch (parameter ?1: JSON array of decision ids), alias `d`. */
export const NEW_DECISION = (d: string) => `${d}.agg_applied = 0 AND ${d}.decision_id IN ${idsIn(1)}`;

/**
 * The aggregate group of a decision row (alias `d`): treatment, the universal control group, or
 * a campaign's own holdout (personalised otherwise, so treatment in the universal experiment).
 */
export const GROUP_OF = (d: string) =>
  `CASE WHEN ${d}.holdout = 0 THEN 'treatment' WHEN COALESCE(${d}.holdout_scope, 'universal') = 'universal' THEN 'universal_control' ELSE 'campaign_holdout' END`;

/** Is the decision control in the universal experiment? (campaign holdouts were personalised). */
export const UNIVERSAL_CONTROL = (d: string) => `(${d}.holdout = 1 AND COALESCE(${d}.holdout_scope, 'universal') = 'universal')`;

/** The UTC date (ms → 'YYYY-MM-DD') the aggregates use, in JavaScript. */
export function utcDay(ms: number): string {
  return new Date(ms - (ms % DAY_MS)).toISOString().slice(0, 10);
}
