/**
 * A candidate policy against the current champion on the same logged decisions.
 *
 * Both are replayed on exactly the decisions both can replay, with the same reward model q̂, so
 * each decision i gives a pair of per-decision terms and their difference
 *   IPS: Δᵢ = (w꜀ᵢ − wₕᵢ) rᵢ,                       wᵢ = π(aᵢ|xᵢ) / μ(aᵢ|xᵢ)
 *   DR:  Δᵢ = [V̂꜀(xᵢ) + w꜀ᵢ (rᵢ − q̂ᵢ)] − [V̂ₕ(xᵢ) + wₕᵢ (rᵢ − q̂ᵢ)],  V̂(x) = Σₐ π(a|x) q̂(x,a)
 * whose mean is the IPS (Horvitz & Thompson 1952) or doubly robust (Dudík, Langford & Li 2011,
 * "Doubly Robust Policy Evaluation and Learning", ICML) estimate of V(candidate) − V(champion).
 * The Δᵢ are independent across decisions, so the interval is the normal (CLT) interval of their
 * mean, mean ± z·s/√n — a paired comparison: the noise both estimates share (the same rᵢ, the same
 * μ) cancels, which two separate intervals side by side cannot show.
 */
import type { LoggedDecision } from "../export/line.ts";
import { zCritical } from "../stats/distributions.ts";
import type { Interval } from "../stats/proportions.ts";
import { assertPropensities, offPolicyEstimates, type OpeEstimates, type OpeSample } from "./estimators.ts";
import { replaySamples, type RewardKind, type TargetAnswer } from "./replay.ts";

/** The method, as answered by the API. */
export const COMPARISON_METHOD = "paired difference of per-decision IPS and DR terms (candidate − champion) on the decisions both policies replay, normal interval";

/** Candidate − champion, each with its interval. */
export interface PairedDifference {
  n: number;
  confidence: number;
  ips: Interval;
  /** Null when some decision lacks reward-model predictions. */
  dr: Interval | null;
}

function meanInterval(values: readonly number[], z: number): Interval {
  const n = values.length;
  if (n === 0) return { estimate: null, low: null, high: null };
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const se = n > 1 ? Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1) / n) : 0;
  return { estimate: mean, low: mean - z * se, high: mean + z * se };
}

/**
 * The paired difference of two policies' per-decision IPS and DR terms; the samples must come
 * from the same decisions in the same order (same reward and logged propensity).
 */
export function pairedDifference(candidate: readonly OpeSample[], champion: readonly OpeSample[], confidence = 0.95): PairedDifference {
  if (candidate.length !== champion.length) throw new RangeError("paired samples must have the same length");
  assertPropensities(candidate);
  const z = zCritical(confidence);
  const ips: number[] = [];
  const dr: number[] = [];
  let hasDr = true;
  candidate.forEach((c, i) => {
    const h = champion[i]!;
    if (c.reward !== h.reward || c.propensity !== h.propensity) throw new RangeError(`sample ${i} is not the same decision for both policies`);
    const wc = c.targetProbability / c.propensity!;
    const wh = h.targetProbability / h.propensity!;
    ips.push((wc - wh) * c.reward);
    if ([c.predictedReward, c.predictedValue, h.predictedReward, h.predictedValue].every(Number.isFinite)) {
      dr.push(c.predictedValue! + wc * (c.reward - c.predictedReward!) - (h.predictedValue! + wh * (h.reward - h.predictedReward!)));
    } else hasDr = false;
  });
  return { n: candidate.length, confidence, ips: meanInterval(ips, z), dr: hasDr ? meanInterval(dr, z) : null };
}

/** One side of the comparison. */
export interface ComparedPolicy {
  estimates: OpeEstimates;
  agreement: number;
}

/** What `compareOnLog` answers. */
export interface Comparison {
  evaluated: number;
  skipped: Record<string, number>;
  candidate: ComparedPolicy;
  champion: ComparedPolicy;
  difference: PairedDifference;
  /** From the DR difference (IPS when DR is unavailable): does its interval exclude 0? */
  verdict: "candidate_better" | "champion_better" | "inconclusive";
}

/**
 * Compares two policies' answers on the same logged decisions (pure): a decision either cannot
 * replay is left out of both, so both estimates and the difference rest on the same decisions.
 */
export function compareOnLog(decisions: readonly LoggedDecision[], candidate: readonly TargetAnswer[], champion: readonly TargetAnswer[], reward: RewardKind, confidence = 0.95): Comparison {
  const joint = decisions.map((_, i) => {
    const c = candidate[i]!;
    const h = champion[i]!;
    if ("skip" in c) return { c, h: c };
    if ("skip" in h) return { c: { skip: `champion_${h.skip}` }, h: { skip: `champion_${h.skip}` } };
    return { c, h };
  });
  const cand = replaySamples(decisions, joint.map((j) => j.c), reward);
  const champ = replaySamples(decisions, joint.map((j) => j.h), reward);
  const difference = pairedDifference(cand.samples, champ.samples, confidence);
  const d = difference.dr ?? difference.ips;
  const verdict = d.low !== null && d.low > 0 ? "candidate_better" : d.high !== null && d.high < 0 ? "champion_better" : "inconclusive";
  return {
    evaluated: cand.samples.length,
    skipped: cand.skipped,
    candidate: { estimates: offPolicyEstimates(cand.samples, confidence), agreement: cand.agreement },
    champion: { estimates: offPolicyEstimates(champ.samples, confidence), agreement: champ.agreement },
    difference,
    verdict,
  };
}

/** True when [a0, a1] and [b0, b1] share an instant (inclusive bounds). */
export function overlaps(a: { from: number; to: number }, b: { from: number; to: number }): boolean {
  return a.from <= b.to && b.from <= a.to;
}
