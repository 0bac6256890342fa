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
import type { FoldTable } from "./drift-fold.ts";
import { utcDay } from "./sql.ts";

/** Histogram bins over [0, 1]: bucket b holds [b/BINS, (b+1)/BINS); -1 below 0, BINS above 1. */
export const SCORE_BINS = 20;

/**
 * The bucket of a score (see {@link SCORE_BINS}). Scores are float32 model outputs logged as
 * their shortest decimal (worker/audit/float32.ts): bucketed as that float32, so 0.9 logged for a
 * served 0.8999999761581421 stays in bucket 17, as served (and as logged before the change).
 */
export function scoreBucket(logged: number): number {
  const score = Math.fround(logged);
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

/** The tables the rows of {@link driftRows} are folded into (./drift-fold.ts). */
export const DRIFT_TABLES = {
  scores: { table: "agg_scores", keys: ["day", "model", "bucket"], values: ["n"] },
  features: { table: "agg_features", keys: ["day", "model", "feature"], values: ["n", "sum", "sum_sq"] },
} as const satisfies Record<string, FoldTable>;
