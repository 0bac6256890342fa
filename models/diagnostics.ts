/**
 * What `npm run train` says about a fit besides the numbers: each weight with its feature's name
 * and how often that feature was non-zero, and warnings a newcomer needs to read the result right.
 *
 * - `rare_feature_large_weight`: a weight of large magnitude on a feature that is almost always 0.
 *   A logistic regression has almost no data to pin such a weight down; when the few rows where
 *   the feature is non-zero all share one label, the maximum-likelihood weight runs off towards
 *   ±∞ ("separation", Albert & Anderson 1984, Biometrika 71(1)) and only the L2 penalty stops it.
 *   The number is then a guess that will swing the ranking of every visitor who has the feature.
 * - `improvement_crosses_zero` / `worse_than_constant`: the cross-validated log-loss improvement
 *   over the constant click rate has an interval that includes 0 (or is negative): the model is
 *   not shown to rank better than serving everyone the same prediction.
 */

/** One weight, named, with the support its feature had in the training rows. */
export interface WeightReport {
  feature: string;
  /** Log-odds per unit of the feature (raw units, as the ONNX graph applies it). */
  weight: number;
  /** Rows where the feature is not 0. */
  nonZeroRows: number;
  /** nonZeroRows / rows. */
  nonZeroShare: number;
  /** Positive labels among those rows. */
  positivesWhenNonZero: number;
}

export interface TrainingWarning {
  code: "rare_feature_large_weight" | "improvement_crosses_zero" | "worse_than_constant";
  feature?: string;
  message: string;
}

/** A feature non-zero in fewer than this share of rows is rare. */
export const RARE_SHARE = 0.01;
/** |weight| × the feature's largest non-zero |value| above this (odds × e⁵ ≈ 148) is large. */
export const LARGE_EFFECT = 5;

/** Names each weight and counts its feature's support. */
export function weightReport(features: readonly string[], weights: readonly number[], rows: readonly (readonly number[])[], labels: readonly number[]): WeightReport[] {
  return features.map((feature, j) => {
    let nonZeroRows = 0;
    let positivesWhenNonZero = 0;
    rows.forEach((row, i) => {
      if (row[j] !== 0) {
        nonZeroRows++;
        if (labels[i]) positivesWhenNonZero++;
      }
    });
    return { feature, weight: weights[j]!, nonZeroRows, nonZeroShare: rows.length ? nonZeroRows / rows.length : 0, positivesWhenNonZero };
  });
}

const pct = (x: number) => `${(x * 100).toFixed(x < 0.001 ? 3 : 2)}%`;

/** Warnings about the weights and the cross-validated improvement (see the module comment). */
export function trainingWarnings(
  report: readonly WeightReport[],
  rows: readonly (readonly number[])[],
  crossValidation?: { improvement: number; improvementCi95: [number, number] },
): TrainingWarning[] {
  const warnings: TrainingWarning[] = [];
  report.forEach((r, j) => {
    const largest = rows.reduce((m, row) => Math.max(m, Math.abs(row[j]!)), 0);
    const effect = Math.abs(r.weight) * largest;
    if (r.nonZeroShare < RARE_SHARE && effect > LARGE_EFFECT) {
      const labels = r.positivesWhenNonZero === 0 ? "none of them positive" : r.positivesWhenNonZero === r.nonZeroRows ? "all of them positive" : `${r.positivesWhenNonZero} of them positive`;
      warnings.push({
        code: "rare_feature_large_weight",
        feature: r.feature,
        message:
          `weight ${r.weight.toFixed(2)} on ${r.feature}, which is non-zero in only ${r.nonZeroRows} of ${rows.length} rows (${pct(r.nonZeroShare)}; ${labels}): ` +
          `it multiplies the odds by e^${(Math.sign(r.weight) * effect).toFixed(1)} for those visitors on almost no evidence. ` +
          `If those few rows all share one label the fit runs away (separation) and the weight is a guess. ` +
          `Collect more data, drop the feature (--features), or raise --l2.`,
      });
    }
  });
  if (crossValidation) {
    const [low, high] = crossValidation.improvementCi95;
    if (high <= 0) {
      warnings.push({ code: "worse_than_constant", message: `cross-validated log-loss is worse than predicting the average rate for everyone (improvement ${crossValidation.improvement.toExponential(2)}, 95% interval [${low.toExponential(2)}, ${high.toExponential(2)}]): do not deploy this model; check the label, the features and the solver` });
    } else if (low <= 0) {
      warnings.push({ code: "improvement_crosses_zero", message: `the 95% interval of the cross-validated improvement over the constant, [${low.toExponential(2)}, ${high.toExponential(2)}], includes 0: this data does not show the model ranks better than predicting the average rate for everyone; gather more decisions before trusting it` });
    }
  }
  return warnings;
}

/** The report as text, for people (the JSON summary is for scripts). */
export function formatReport(report: readonly WeightReport[], bias: number, warnings: readonly TrainingWarning[]): string {
  const width = Math.max(7, ...report.map((r) => r.feature.length));
  const flagged = new Set(warnings.flatMap((w) => (w.feature ? [w.feature] : [])));
  const lines = [
    `${"feature".padEnd(width)}  ${"weight".padStart(9)}  non-zero rows`,
    ...report.map((r) => `${r.feature.padEnd(width)}  ${r.weight.toFixed(4).padStart(9)}  ${String(r.nonZeroRows).padStart(7)} (${pct(r.nonZeroShare)})${flagged.has(r.feature) ? "  ⚠" : ""}`),
    `${"(bias)".padEnd(width)}  ${bias.toFixed(4).padStart(9)}`,
    "Weights are log-odds per unit of the feature: +0.69 doubles the odds of a positive.",
  ];
  if (warnings.length) lines.push("", "Warnings:", ...warnings.map((w) => `⚠ ${w.code}: ${w.message}`));
  return lines.join("\n");
}
