/**
 * Means from running sums (count, Σx, Σx²), so a database can aggregate and only three numbers
 * per group travel: revenue per visitor and its difference between groups (Welch).
 */
import type { Interval } from "./proportions.ts";
import { twoSidedP, zCritical } from "./distributions.ts";

/** Sufficient statistics of a sample. */
export interface Moments {
  n: number;
  sum: number;
  sumSquares: number;
}

/** Sample variance (n − 1 denominator) from moments; 0 for fewer than two values. */
export function variance({ n, sum, sumSquares }: Moments): number {
  if (n < 2) return 0;
  // Rounding can take a tiny negative value for constant samples.
  return Math.max(0, (sumSquares - (sum * sum) / n) / (n - 1));
}

/** The mean with a normal-approximation interval. */
export function meanInterval(m: Moments, confidence = 0.95): Interval {
  if (m.n <= 0) return { estimate: null, low: null, high: null };
  const mean = m.sum / m.n;
  const half = zCritical(confidence) * Math.sqrt(variance(m) / m.n);
  return { estimate: mean, low: mean - half, high: mean + half };
}

/** Difference of two means (a − b), Welch standard error, normal interval and p-value. */
export function compareMeans(a: Moments, b: Moments, confidence = 0.95): { difference: Interval; pValue: number | null } {
  if (a.n <= 0 || b.n <= 0) return { difference: { estimate: null, low: null, high: null }, pValue: null };
  const diff = a.sum / a.n - b.sum / b.n;
  const se = Math.sqrt(variance(a) / a.n + variance(b) / b.n);
  const half = zCritical(confidence) * se;
  return {
    difference: { estimate: diff, low: diff - half, high: diff + half },
    pValue: se > 0 ? twoSidedP(diff / se) : diff === 0 ? 1 : 0,
  };
}
