/**
 * Comparing two conversion rates (treatment vs control). Interval choices, and why:
 * - each rate: Wilson score interval (keeps its coverage near 0 or 1 and for small n, where the
 *   Wald interval collapses to zero width);
 * - absolute lift p₁ − p₀: Newcombe's hybrid score interval (method 10), built from the two
 *   Wilson intervals — close to nominal coverage even with few conversions;
 * - relative lift p₁/p₀ − 1: the log risk-ratio (Katz) interval;
 * - p-value: the pooled two-proportion z-test, two-sided.
 */
import { twoSidedP, zCritical } from "./distributions.ts";

/** A count of successes out of trials. */
export interface Counts {
  /** Trials (visitors). */
  n: number;
  /** Successes (converted visitors). */
  x: number;
}

/** A point estimate with its confidence interval; null bounds when it is not estimable. */
export interface Interval {
  estimate: number | null;
  low: number | null;
  high: number | null;
}

/** Wilson score interval for x successes in n trials. */
export function wilson({ n, x }: Counts, confidence = 0.95): Interval {
  if (n <= 0) return { estimate: null, low: null, high: null };
  const z = zCritical(confidence);
  const p = x / n;
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return { estimate: p, low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

/** Result of comparing treatment with control. */
export interface ProportionComparison {
  treatment: Interval;
  control: Interval;
  /** p₁ − p₀ with Newcombe's interval. */
  absoluteLift: Interval;
  /** p₁/p₀ − 1 with the log risk-ratio interval; null when the control has no conversions. */
  relativeLift: Interval;
  /** Two-sided pooled z-test p-value of p₁ = p₀. */
  pValue: number | null;
}

/** Compares two proportions; see the module comment for the methods. */
export function compareProportions(treatment: Counts, control: Counts, confidence = 0.95): ProportionComparison {
  const t = wilson(treatment, confidence);
  const c = wilson(control, confidence);
  const none: Interval = { estimate: null, low: null, high: null };
  if (t.estimate === null || c.estimate === null) {
    return { treatment: t, control: c, absoluteLift: none, relativeLift: none, pValue: null };
  }
  const p1 = t.estimate;
  const p0 = c.estimate;
  const d = p1 - p0;
  const absoluteLift: Interval = {
    estimate: d,
    low: d - Math.sqrt((p1 - t.low!) ** 2 + (c.high! - p0) ** 2),
    high: d + Math.sqrt((t.high! - p1) ** 2 + (p0 - c.low!) ** 2),
  };

  let relativeLift = none;
  if (control.x > 0 && treatment.x > 0) {
    const z = zCritical(confidence);
    const logRatio = Math.log(p1 / p0);
    const se = Math.sqrt(1 / treatment.x - 1 / treatment.n + 1 / control.x - 1 / control.n);
    relativeLift = { estimate: p1 / p0 - 1, low: Math.exp(logRatio - z * se) - 1, high: Math.exp(logRatio + z * se) - 1 };
  } else if (control.x > 0) {
    relativeLift = { estimate: p1 / p0 - 1, low: null, high: null };
  }

  const pooled = (treatment.x + control.x) / (treatment.n + control.n);
  const se0 = Math.sqrt(pooled * (1 - pooled) * (1 / treatment.n + 1 / control.n));
  // Identical all-zero (or all-one) groups: no evidence of any difference.
  const pValue = se0 > 0 ? twoSidedP(d / se0) : 1;
  return { treatment: t, control: c, absoluteLift, relativeLift, pValue };
}

/**
 * The smallest absolute lift detectable with the given power at these group sizes and base
 * rate (two-sided test at 1 − confidence). Tells a reader how large an effect the experiment
 * could have seen when it found none. Null when a group is empty or the base rate is 0 or 1 (no
 * conversions yet, or all): the normal approximation then has no variance, and a figure of ±0%
 * would claim the experiment could see any effect at all.
 */
export function minimumDetectableLift(nTreatment: number, nControl: number, baseRate: number, confidence = 0.95, power = 0.8): number | null {
  if (nTreatment <= 0 || nControl <= 0 || !(baseRate > 0 && baseRate < 1)) return null;
  const p = baseRate;
  const zPower = zCritical(2 * power - 1);
  return (zCritical(confidence) + zPower) * Math.sqrt(p * (1 - p) * (1 / nTreatment + 1 / nControl));
}
