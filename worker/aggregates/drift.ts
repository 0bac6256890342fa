/**
 * Drift monitoring aggregates, per day × model: the score histogram (serving and shadow models)
 * and per-feature count, Σx and Σx² over every scored candidate (the serving model's features). These are what the population stability index (PSI) of scores
 * and the mean/standard deviation shift of each feature need (Yurdakul, "Statistical properties of
 * population stability index", 2018; PSI over fixed bins), without reading decisions again.
 */
import { NEW_DECISION, dayOf } from "./sql.ts";

/** Histogram bins over [0, 1]: bucket b holds [b/BINS, (b+1)/BINS); -1 below 0, BINS above 1. */
export const SCORE_BINS = 20;

/** The bucket of a score, as SQL over column `s`; the same rule as {@link scoreBucket}. */
const BUCKET = (s: string) =>
  `CASE WHEN ${s} < 0 THEN -1 WHEN ${s} > 1 THEN ${SCORE_BINS} WHEN ${s} = 1 THEN ${SCORE_BINS - 1} ELSE CAST(${s} * ${SCORE_BINS} AS INTEGER) END`;

/** The bucket of a score (see {@link SCORE_BINS}). */
export function scoreBucket(score: number): number {
  if (score < 0) return -1;
  if (score > 1) return SCORE_BINS;
  if (score === 1) return SCORE_BINS - 1;
  return Math.trunc(score * SCORE_BINS);
}

/** SQL of the drift folds; parameter ?1 is the JSON array of the batch's decision ids. */
export function driftStatements(): string[] {
  return [
    `INSERT INTO agg_scores (day, model, bucket, n)
     SELECT ${dayOf("d.time")}, COALESCE(d.model_version, ''), ${BUCKET("s.value")}, COUNT(*)
     FROM decisions d, json_each(d.scores) s WHERE ${NEW_DECISION("d")} GROUP BY 1, 2, 3
     ON CONFLICT DO UPDATE SET n = n + excluded.n`,
    // Shadow models score the same candidates: their histograms, under their own version.
    `INSERT INTO agg_scores (day, model, bucket, n)
     SELECT ${dayOf("d.time")}, json_extract(sh.value, '$.modelVersion'), ${BUCKET("s.value")}, COUNT(*)
     FROM decisions d, json_each(d.shadows) sh, json_each(sh.value, '$.scores') s
     WHERE ${NEW_DECISION("d")} AND json_extract(sh.value, '$.modelVersion') IS NOT NULL GROUP BY 1, 2, 3
     ON CONFLICT DO UPDATE SET n = n + excluded.n`,
    // features[i][j] is feature feature_names[j] of candidate i.
    `INSERT INTO agg_features (day, model, feature, n, sum, sum_sq)
     SELECT ${dayOf("d.time")}, COALESCE(d.model_version, ''), json_extract(d.feature_names, '$[' || f.key || ']'),
       COUNT(f.value), COALESCE(SUM(f.value), 0), COALESCE(SUM(f.value * f.value), 0)
     FROM decisions d, json_each(d.features) c, json_each(c.value) f
     WHERE ${NEW_DECISION("d")} AND json_extract(d.feature_names, '$[' || f.key || ']') IS NOT NULL GROUP BY 1, 2, 3
     ON CONFLICT DO UPDATE SET n = n + excluded.n, sum = sum + excluded.sum, sum_sq = sum_sq + excluded.sum_sq`,
  ];
}
