/**
 * Off-policy estimators: the value a target policy π would have had on traffic logged under the
 * logging policy μ, from the logged propensities μ(aᵢ|xᵢ). Plain functions over plain numbers.
 *
 * With wᵢ = π(aᵢ|xᵢ) / μ(aᵢ|xᵢ):
 * - IPS   V = (1/n) Σ wᵢ rᵢ — unbiased when μ > 0 wherever π > 0; high variance;
 * - SNIPS V = Σ wᵢ rᵢ / Σ wᵢ — slightly biased, far less variance, bounded by the rewards;
 * - DR    V = (1/n) Σ [ Σₐ π(a|xᵢ) q̂(xᵢ,a) + wᵢ (rᵢ − q̂(xᵢ,aᵢ)) ] — unbiased if either the
 *   propensities or the reward model q̂ are right, usually the tightest.
 * Intervals are normal approximations (the estimators are means of independent terms; SNIPS by
 * the delta method). The effective sample size (Σw)²/Σw² says how many logged decisions the
 * estimate is really worth: far below n means π strays from μ and every interval is fragile.
 */
import { AppError } from "../errors/app-error.ts";
import type { Interval } from "../stats/proportions.ts";
import { zCritical } from "../stats/distributions.ts";

/** One logged decision as the estimators see it. */
export interface OpeSample {
  reward: number;
  /** μ(aᵢ|xᵢ): probability with which the logging policy chose the logged action. */
  propensity: number | null | undefined;
  /** π(aᵢ|xᵢ): probability with which the target policy chooses the logged action. */
  targetProbability: number;
  /** q̂(xᵢ, aᵢ): the reward model's prediction for the logged action (for DR). */
  predictedReward?: number;
  /** Σₐ π(a|xᵢ) q̂(xᵢ, a): the reward model's value of π in this context (for DR). */
  predictedValue?: number;
}

/** Every estimate, each with its interval. */
export interface OpeEstimates {
  n: number;
  confidence: number;
  /** The logging policy's observed mean reward. */
  logged: Interval;
  ips: Interval;
  snips: Interval;
  /** Null when some sample lacks reward-model predictions. */
  dr: Interval | null;
  effectiveSampleSize: number;
  maxWeight: number;
  meanWeight: number;
}

const NONE: Interval = { estimate: null, low: null, high: null };

/** Refuses logs without usable propensities: no weight, no estimate (422 for the API). */
export function assertPropensities(samples: readonly Pick<OpeSample, "propensity">[]): void {
  let missing = 0;
  let first = -1;
  samples.forEach((s, i) => {
    const p = s.propensity;
    if (typeof p !== "number" || !(p > 0 && p <= 1)) {
      missing++;
      if (first < 0) first = i;
    }
  });
  if (missing > 0) {
    throw new AppError(
      "missing_propensity",
      `${missing} of ${samples.length} logged decisions have no usable propensity (first at index ${first}); ` +
        "off-policy estimates need the exact probability of every logged choice",
    );
  }
}

function meanOf(values: Float64Array, z: number): Interval {
  const n = values.length;
  if (n === 0) return NONE;
  let sum = 0;
  for (const v of values) sum += v;
  const mean = sum / n;
  let ss = 0;
  for (const v of values) ss += (v - mean) ** 2;
  const se = n > 1 ? Math.sqrt(ss / (n - 1) / n) : 0;
  return { estimate: mean, low: mean - z * se, high: mean + z * se };
}

/** Computes IPS, SNIPS, DR, the logged value and the effective sample size. */
export function offPolicyEstimates(samples: readonly OpeSample[], confidence = 0.95): OpeEstimates {
  assertPropensities(samples);
  const n = samples.length;
  const z = zCritical(confidence);
  const rewards = new Float64Array(n);
  const weighted = new Float64Array(n);
  const weights = new Float64Array(n);
  let sumW = 0;
  let sumW2 = 0;
  let sumWR = 0;
  let maxWeight = 0;
  samples.forEach((s, i) => {
    if (!(s.targetProbability >= 0 && s.targetProbability <= 1)) throw new RangeError(`targetProbability out of [0, 1] at ${i}`);
    const w = s.targetProbability / s.propensity!;
    weights[i] = w;
    rewards[i] = s.reward;
    weighted[i] = w * s.reward;
    sumW += w;
    sumW2 += w * w;
    sumWR += w * s.reward;
    if (w > maxWeight) maxWeight = w;
  });

  let snips = NONE;
  if (sumW > 0) {
    const v = sumWR / sumW;
    let ss = 0;
    for (let i = 0; i < n; i++) ss += (weights[i]! * (rewards[i]! - v)) ** 2;
    const se = n > 1 ? Math.sqrt((n / (n - 1)) * ss) / sumW : 0;
    snips = { estimate: v, low: v - z * se, high: v + z * se };
  }

  let dr: Interval | null = null;
  if (n > 0 && samples.every((s) => Number.isFinite(s.predictedReward) && Number.isFinite(s.predictedValue))) {
    const terms = new Float64Array(n);
    samples.forEach((s, i) => (terms[i] = s.predictedValue! + weights[i]! * (s.reward - s.predictedReward!)));
    dr = meanOf(terms, z);
  }

  return {
    n,
    confidence,
    logged: meanOf(rewards, z),
    ips: meanOf(weighted, z),
    snips,
    dr,
    effectiveSampleSize: sumW2 > 0 ? (sumW * sumW) / sumW2 : 0,
    maxWeight,
    meanWeight: n ? sumW / n : 0,
  };
}
