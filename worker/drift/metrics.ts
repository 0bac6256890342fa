/**
 * Drift statistics, pure functions over binned counts (checked against SciPy in
 * test/node/drift-metrics.test.ts with test/fixtures/drift/reference.json, made by
 * test/fixtures/drift/make_reference.py).
 *
 * - Population Stability Index: PSI = Σᵢ (aᵢ − eᵢ) ln(aᵢ / eᵢ) over the bins of the baseline (e)
 *   and actual (a) proportions — Siddiqi (2006), "Credit Risk Scorecards", ch. 8; Yurdakul
 *   (2018), "Statistical Properties of Population Stability Index", Western Michigan University
 *   dissertation. Empty bins are floored at {@link PSI_EPSILON} (as in Yurdakul's reference
 *   implementation) and the proportions renormalised, which keeps PSI equal to the symmetrised
 *   Kullback–Leibler divergence KL(a‖e) + KL(e‖a) (SciPy: entropy(a, e) + entropy(e, a)).
 * - Jensen–Shannon distance: √(½ KL(p‖m) + ½ KL(q‖m)), m = ½(p + q), in base 2 so it lies in
 *   [0, 1] (Lin 1991, IEEE Trans. Inf. Theory 37; Endres & Schindelin 2003); equal to
 *   scipy.spatial.distance.jensenshannon(p, q, base=2). Empty bins need no floor.
 * - Exact two-sided binomial test of x successes in n trials against p₀: the probability of
 *   outcomes no more likely than x (the "minlike" method of R's binom.test and
 *   scipy.stats.binomtest; Clopper & Pearson's exact framework).
 * - Hosmer–Lemeshow statistic on fixed probability bins, Σ_b (O_b − E_b)² / (E_b (1 − E_b/n_b)),
 *   chi-square with g degrees of freedom on data the model was not fitted on (Hosmer, Lemeshow &
 *   Sturdivant 2013, "Applied Logistic Regression", 3rd ed., §5.2.2).
 */
import { lnGamma, chiSquareSf } from "../stats/distributions.ts";

/** Floor of an empty bin's proportion in PSI (Yurdakul 2018's implementation uses 0.0001). */
export const PSI_EPSILON = 1e-4;

/** Counts or weights → proportions (all zero → all zero). */
export function proportionsOf(counts: readonly number[]): number[] {
  const total = counts.reduce((a, b) => a + b, 0);
  return counts.map((c) => (total > 0 ? c / total : 0));
}

function floored(p: readonly number[]): number[] {
  return proportionsOf(proportionsOf(p).map((x) => Math.max(x, PSI_EPSILON)));
}

/**
 * Population stability index of `actual` against `expected` (counts or proportions over the same
 * bins; see the module comment). 0 when identical; the usual reading is < 0.1 stable, 0.1–0.25
 * a moderate shift, ≥ 0.25 a significant shift (Siddiqi 2006).
 */
export function psi(expected: readonly number[], actual: readonly number[]): number {
  if (expected.length !== actual.length) throw new RangeError(`psi: ${expected.length} baseline bins vs ${actual.length} actual bins`);
  const e = floored(expected);
  const a = floored(actual);
  let sum = 0;
  for (let i = 0; i < e.length; i++) sum += (a[i]! - e[i]!) * Math.log(a[i]! / e[i]!);
  return Math.max(0, sum);
}

/** Jensen–Shannon distance (base 2, in [0, 1]) between two histograms over the same bins. */
export function jensenShannon(p: readonly number[], q: readonly number[]): number {
  if (p.length !== q.length) throw new RangeError(`jensenShannon: ${p.length} vs ${q.length} bins`);
  const a = proportionsOf(p);
  const b = proportionsOf(q);
  let d = 0;
  for (let i = 0; i < a.length; i++) {
    const m = (a[i]! + b[i]!) / 2;
    if (a[i]! > 0) d += a[i]! * Math.log2(a[i]! / m);
    if (b[i]! > 0) d += b[i]! * Math.log2(b[i]! / m);
  }
  return Math.sqrt(Math.max(0, d / 2));
}

/** ln P(X = k) for X ~ Binomial(n, p), 0 < p < 1. */
function logPmf(k: number, n: number, p: number): number {
  return lnGamma(n + 1) - lnGamma(k + 1) - lnGamma(n - k + 1) + k * Math.log(p) + (n - k) * Math.log1p(-p);
}

/**
 * Exact two-sided binomial test p-value of `x` successes in `n` trials against `p0` (see the
 * module comment). Terms beyond 40 standard deviations of the mean are below double precision
 * and skipped, so the cost is O(√n). Throws RangeError on x ∉ [0, n] or p0 ∉ [0, 1].
 */
export function binomialTest(x: number, n: number, p0: number): number {
  if (!(Number.isInteger(x) && Number.isInteger(n) && x >= 0 && x <= n)) throw new RangeError(`binomialTest: need integers 0 ≤ x ≤ n, got x=${x}, n=${n}`);
  if (!(p0 >= 0 && p0 <= 1)) throw new RangeError(`binomialTest: p0 must be in [0, 1], got ${p0}`);
  if (n === 0) return 1;
  if (p0 === 0) return x === 0 ? 1 : 0;
  if (p0 === 1) return x === n ? 1 : 0;
  const mean = n * p0;
  const sd = Math.sqrt(n * p0 * (1 - p0));
  const lo = Math.max(0, Math.floor(mean - 40 * sd - 1));
  const hi = Math.min(n, Math.ceil(mean + 40 * sd + 1));
  const dx = logPmf(x, n, p0);
  // SciPy's relative tolerance for ties in likelihood.
  const limit = dx + Math.log1p(1e-7);
  let sum = 0;
  for (let k = lo; k <= hi; k++) {
    const lk = logPmf(k, n, p0);
    if (lk <= limit) sum += Math.exp(lk);
  }
  if (x < lo || x > hi) sum += Math.exp(dx);
  return Math.min(1, sum);
}

/** One reliability bin of the calibration aggregate. */
export interface CalibrationBin {
  bin: number;
  /** Shown (impressions). */
  n: number;
  /** Σ predicted probability over them. */
  sumP: number;
  /** Outcomes (clicks or conversions). */
  positives: number;
}

/** Predicted vs observed per bin, the expected calibration error and the Hosmer–Lemeshow test. */
export interface CalibrationDrift {
  n: number;
  /** Σ_b (n_b / n) |observed_b − predicted_b| (Naeini et al. 2015). */
  ece: number;
  hosmerLemeshow: number;
  df: number;
  pValue: number;
  bins: { bin: number; n: number; predicted: number; observed: number }[];
}

/** Calibration of binned predictions (see the module comment); observed rates are capped at 1. */
export function calibrationDrift(bins: readonly CalibrationBin[]): CalibrationDrift {
  const used = bins.filter((b) => b.n > 0);
  const n = used.reduce((s, b) => s + b.n, 0);
  let ece = 0;
  let hl = 0;
  let df = 0;
  const out = used.map((b) => {
    const predicted = b.sumP / b.n;
    const positives = Math.min(b.positives, b.n);
    const observed = positives / b.n;
    ece += (b.n / n) * Math.abs(observed - predicted);
    const expected = b.sumP;
    if (expected > 0 && expected < b.n) {
      hl += (positives - expected) ** 2 / (expected * (1 - expected / b.n));
      df++;
    }
    return { bin: b.bin, n: b.n, predicted, observed };
  });
  return { n, ece, hosmerLemeshow: hl, df, pValue: df > 0 ? chiSquareSf(hl, df) : 1, bins: out };
}
