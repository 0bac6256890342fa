/**
 * Drift monitoring aggregates, per day × model: the score histogram (serving and shadow models)
 * and per-feature count, Σx and Σx² over every scored candidate (the serving model's features).
 * These are what the population stability index (PSI) of scores and the mean/standard deviation
 * shift of each feature need (Yurdakul, "Statistical properties of population stability index",
 * 2018; PSI over fixed bins), without reading decisions again.
 *
 * The sums are computed here, in the consumer, from the records it already holds: one row per
 * decision and feature (17) or score bucket (≤ 22), instead of SQLite expanding every decision's
 * 50 × 17 feature matrix from JSON (850 rows with a JSON lookup each) inside the batch's
 * transaction. They are still folded only for decisions the batch really inserted (`agg_applied =
 * 0`), so a redelivered batch changes nothing.
 */
import { NEW_DECISION, utcDay } from "./sql.ts";

/** Histogram bins over [0, 1]: bucket b holds [b/BINS, (b+1)/BINS); -1 below 0, BINS above 1. */
export const SCORE_BINS = 20;

/** The bucket of a score (see {@link SCORE_BINS}). */
export function scoreBucket(score: number): number {
  if (score < 0) return -1;
  if (score > 1) return SCORE_BINS;
  if (score === 1) return SCORE_BINS - 1;
  return Math.trunc(score * SCORE_BINS);
}

/** What drift needs of a decision (an AuditRecord has it). */
export interface DriftSource {
  decisionId: string;
  time: number;
  modelVersion: string | null;
  featureNames: string[];
  /** features[i][j]: feature featureNames[j] of candidate i. */
  features: number[][];
  scores: number[];
  shadows: { modelVersion: string; scores: number[] }[];
}

/** Per-decision contributions, as JSON rows for the statements below. */
export interface DriftRows {
  /** [decisionId, day, model, bucket, n] */
  scores: [string, string, string, number, number][];
  /** [decisionId, day, model, feature, n, sum, sumSq] */
  features: [string, string, string, string, number, number, number][];
}

/** The histogram and feature sums each decision contributes. */
export function driftRows(decisions: DriftSource[]): DriftRows {
  const out: DriftRows = { scores: [], features: [] };
  for (const d of decisions) {
    const day = utcDay(d.time);
    const model = d.modelVersion ?? "";
    const histogram = (version: string, scores: number[]) => {
      const counts = new Map<number, number>();
      for (const s of scores) counts.set(scoreBucket(s), (counts.get(scoreBucket(s)) ?? 0) + 1);
      for (const [bucket, n] of counts) out.scores.push([d.decisionId, day, version, bucket, n]);
    };
    histogram(model, d.scores);
    for (const shadow of d.shadows) histogram(shadow.modelVersion, shadow.scores);
    d.featureNames.forEach((feature, j) => {
      let n = 0;
      let sum = 0;
      let sumSq = 0;
      for (const candidate of d.features) {
        const x = candidate[j];
        if (x === undefined) continue;
        n++;
        sum += x;
        sumSq += x * x;
      }
      if (n) out.features.push([d.decisionId, day, model, feature, n, sum, sumSq]);
    });
  }
  return out;
}

/** A JSON row's i-th field, as SQL over json_each alias `r`. */
const at = (i: number) => `json_extract(r.value, '$[${i}]')`;

/**
 * SQL of the drift folds: ?1 is the JSON array of the batch's decision ids, ?2 the JSON rows of
 * {@link driftRows} (scores for the first statement, features for the second).
 */
export const DRIFT_SQL = {
  scores: `INSERT INTO agg_scores (day, model, bucket, n)
     SELECT ${at(1)}, ${at(2)}, ${at(3)}, SUM(${at(4)})
     FROM json_each(?2) r JOIN decisions d ON d.decision_id = ${at(0)}
     WHERE ${NEW_DECISION("d")} GROUP BY 1, 2, 3
     ON CONFLICT DO UPDATE SET n = n + excluded.n`,
  features: `INSERT INTO agg_features (day, model, feature, n, sum, sum_sq)
     SELECT ${at(1)}, ${at(2)}, ${at(3)}, SUM(${at(4)}), SUM(${at(5)}), SUM(${at(6)})
     FROM json_each(?2) r JOIN decisions d ON d.decision_id = ${at(0)}
     WHERE ${NEW_DECISION("d")} GROUP BY 1, 2, 3
     ON CONFLICT DO UPDATE SET n = n + excluded.n, sum = sum + excluded.sum, sum_sq = sum_sq + excluded.sum_sq`,
};
