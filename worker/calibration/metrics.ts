/**
 * Calibration metrics of a probability model on logged (prediction, outcome) pairs. Pure
 * functions; the route (worker/calibration/route.ts) feeds them the served block's score and
 * whether the decision was clicked (or converted).
 *
 * Sources:
 * - Reliability diagram with equal-width bins: DeGroot & Fienberg (1983), "The Comparison and
 *   Evaluation of Forecasters", The Statistician 32; as in sklearn.calibration.calibration_curve
 *   (strategy="uniform").
 * - Expected calibration error: Naeini, Cooper & Hauskrecht (2015), "Obtaining Well Calibrated
 *   Probabilities Using Bayesian Binning", AAAI — ECE = Σ_b (n_b / n) |mean(y)_b − mean(p)_b|.
 * - Brier score: Brier (1950), Monthly Weather Review 78 — mean (p − y)².
 * - Log-loss: mean −[y ln p + (1 − y) ln(1 − p)], p clipped to [1e-15, 1 − 1e-15] as
 *   sklearn.metrics.log_loss does.
 * - AUC: Mann–Whitney U statistic / (n₊ n₋) with mid-ranks for ties (Hanley & McNeil 1982,
 *   Radiology 143), equal to sklearn.metrics.roc_auc_score.
 */

/** One logged prediction with its outcome (1 = the event happened). */
export interface Labelled {
  p: number;
  y: 0 | 1;
}

/** One bin of the reliability curve: predictions in [lo, hi) (the last bin includes 1). */
export interface ReliabilityBin {
  lo: number;
  hi: number;
  count: number;
  /** Mean prediction in the bin; null when empty. */
  meanPredicted: number | null;
  /** Observed rate of the outcome in the bin; null when empty. */
  observedRate: number | null;
  positives: number;
}

export interface CalibrationMetrics {
  n: number;
  positives: number;
  /** Mean prediction and observed rate over everything. */
  meanPredicted: number;
  observedRate: number;
  brier: number;
  logLoss: number;
  ece: number;
  /** max_b |observed − predicted| over non-empty bins (Naeini et al. 2015's MCE). */
  mce: number;
  /** Null when only one class was observed (AUC is undefined). */
  auc: number | null;
  bins: ReliabilityBin[];
}

/** Number of bins of the reliability curve (issue 14: 10 equal-width bins). */
export const RELIABILITY_BINS = 10;

const clip = (p: number) => Math.min(Math.max(p, 1e-15), 1 - 1e-15);

/** Bin of a prediction: ⌊p · bins⌋, with p = 1 in the last bin and out-of-range values clamped. */
export function binOf(p: number, bins = RELIABILITY_BINS): number {
  return Math.min(bins - 1, Math.max(0, Math.floor(p * bins)));
}

/** Reliability curve with equal-width bins over [0, 1]. */
export function reliabilityCurve(data: readonly Labelled[], bins = RELIABILITY_BINS): ReliabilityBin[] {
  const count = new Array<number>(bins).fill(0);
  const sumP = new Array<number>(bins).fill(0);
  const pos = new Array<number>(bins).fill(0);
  for (const { p, y } of data) {
    const b = binOf(p, bins);
    count[b]!++;
    sumP[b]! += p;
    pos[b]! += y;
  }
  return count.map((c, b) => ({
    lo: b / bins,
    hi: (b + 1) / bins,
    count: c,
    meanPredicted: c ? sumP[b]! / c : null,
    observedRate: c ? pos[b]! / c : null,
    positives: pos[b]!,
  }));
}

/**
 * AUC by the Mann–Whitney statistic with mid-ranks (ties count ½): O(n log n). Null when all
 * outcomes are equal.
 */
export function auc(data: readonly Labelled[]): number | null {
  const sorted = [...data].sort((a, b) => a.p - b.p);
  const nPos = data.reduce((s, d) => s + d.y, 0);
  const nNeg = data.length - nPos;
  if (nPos === 0 || nNeg === 0) return null;
  let rankSumPos = 0;
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j < sorted.length && sorted[j]!.p === sorted[i]!.p) j++;
    const midRank = (i + 1 + j) / 2; // ranks i+1 … j share their mean
    for (let k = i; k < j; k++) if (sorted[k]!.y === 1) rankSumPos += midRank;
    i = j;
  }
  return (rankSumPos - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}

/** Every metric at once. Throws on an empty sample (the route answers 422 before). */
export function calibrationMetrics(data: readonly Labelled[], bins = RELIABILITY_BINS): CalibrationMetrics {
  const n = data.length;
  if (n === 0) throw new Error("calibration metrics need at least one prediction");
  let brier = 0;
  let logLoss = 0;
  let sumP = 0;
  let positives = 0;
  for (const { p, y } of data) {
    brier += (p - y) ** 2;
    const c = clip(p);
    logLoss -= y ? Math.log(c) : Math.log(1 - c);
    sumP += p;
    positives += y;
  }
  const curve = reliabilityCurve(data, bins);
  let ece = 0;
  let mce = 0;
  for (const b of curve) {
    if (!b.count) continue;
    const gap = Math.abs(b.observedRate! - b.meanPredicted!);
    ece += (b.count / n) * gap;
    mce = Math.max(mce, gap);
  }
  return { n, positives, meanPredicted: sumP / n, observedRate: positives / n, brier: brier / n, logLoss: logLoss / n, ece, mce, auc: auc(data), bins: curve };
}

/**
 * When probability × value arbitration should not trust a model's probabilities: ECE above
 * 0.05 (predictions off by five points on average, e.g. 0.2 for a 0.1 truth gives 0.1) measured
 * on at least MIN_RELIABLE_N decisions. The threshold is a convention of this project: click
 * rates are a few percent, so a five-point error reorders blocks whose values differ by 2×.
 */
export const BADLY_CALIBRATED_ECE = 0.05;
/** Fewer decisions than this and the verdict is "insufficient data" rather than good or bad. */
export const MIN_RELIABLE_N = 200;

/** `good`, `bad` (ECE > BADLY_CALIBRATED_ECE) or `insufficient_data`. */
export function verdict(m: Pick<CalibrationMetrics, "n" | "ece">): "good" | "bad" | "insufficient_data" {
  if (m.n < MIN_RELIABLE_N) return "insufficient_data";
  return m.ece > BADLY_CALIBRATED_ECE ? "bad" : "good";
}
