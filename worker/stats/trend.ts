/**
 * Tests for a trend in proportions across ordered groups: the content report's fatigue check
 * (does the click rate fall with each further view of the same block?).
 */
import { normalCdf, twoSidedP } from "./distributions.ts";
import type { Counts } from "./proportions.ts";

/** Result of a trend test. */
export interface TrendTest {
  /** Standardised statistic Z (negative: proportions fall as the score rises); Z² is the χ²(1) statistic. */
  z: number;
  /** Two-sided p-value of no linear trend. */
  pValue: number;
  /** One-sided p-value against a falling trend: P(Z ≤ z). */
  pDecreasing: number;
}

/**
 * Cochran–Armitage test for trend in binomial proportions (Cochran 1954, Armitage 1955; Agresti,
 * Categorical Data Analysis, 2nd ed., 2002, §5.3.5). With group scores sᵢ, trials nᵢ and
 * successes xᵢ, N = Σnᵢ, p̄ = Σxᵢ/N and s̄ = Σnᵢsᵢ/N:
 *   Z = Σ xᵢ (sᵢ − s̄) / √( p̄ (1 − p̄) Σ nᵢ (sᵢ − s̄)² ),
 * asymptotically standard normal under no trend; Z² is the χ² of R's `prop.trend.test` and SAS
 * PROC FREQ's TREND option. Returns null when it is undefined: fewer than two groups with trials,
 * no success or no failure at all, or one score for every trial.
 */
export function cochranArmitage(groups: readonly Counts[], scores: readonly number[] = groups.map((_, i) => i + 1)): TrendTest | null {
  if (scores.length !== groups.length) throw new RangeError("one score per group");
  const N = groups.reduce((a, g) => a + g.n, 0);
  const X = groups.reduce((a, g) => a + g.x, 0);
  if (N <= 0 || X <= 0 || X >= N) return null;
  const mean = groups.reduce((a, g, i) => a + g.n * scores[i]!, 0) / N;
  const p = X / N;
  let t = 0;
  let ss = 0;
  groups.forEach((g, i) => {
    const d = scores[i]! - mean;
    t += g.x * d;
    ss += g.n * d * d;
  });
  if (!(ss > 0)) return null;
  const z = t / Math.sqrt(p * (1 - p) * ss);
  return { z, pValue: twoSidedP(z), pDecreasing: normalCdf(z) };
}
