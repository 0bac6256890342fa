/**
 * Target policies: how a model would choose among a decision's candidates, as a probability
 * per candidate (what off-policy evaluation weighs the logged choice by).
 */
import { z } from "zod";

/**
 * - `greedy`: the best-ranked candidate with certainty (what serving does without exploration);
 *   ties go to the smallest block id, as in the decide core;
 * - `epsilon-greedy`: serving with exploration: ε/k to each candidate plus 1 − ε to the best;
 * - `softmax`: probabilities ∝ exp(rank / temperature); rank is probability × block value for
 *   probability models, so the temperature is in units of value.
 */
export const policySpecSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("greedy") }),
  z.object({ type: z.literal("epsilon-greedy"), epsilon: z.number().min(0).max(1) }),
  z.object({ type: z.literal("softmax"), temperature: z.number().positive().max(1e6) }),
]);

export type PolicySpec = z.infer<typeof policySpecSchema>;

/** Index of the best rank, ties to the smallest id. */
export function bestIndex(ranks: readonly number[], ids: readonly string[]): number {
  let best = 0;
  for (let i = 1; i < ranks.length; i++) {
    if (ranks[i]! > ranks[best]! || (ranks[i] === ranks[best] && ids[i]! < ids[best]!)) best = i;
  }
  return best;
}

/** The policy's probability for each candidate (sums to 1). */
export function policyProbabilities(ranks: readonly number[], ids: readonly string[], spec: PolicySpec): number[] {
  const k = ranks.length;
  if (k === 0) return [];
  if (spec.type === "softmax") {
    const max = Math.max(...ranks);
    const exp = ranks.map((r) => Math.exp((r - max) / spec.temperature));
    const total = exp.reduce((a, b) => a + b, 0);
    return exp.map((e) => e / total);
  }
  const best = bestIndex(ranks, ids);
  const epsilon = spec.type === "epsilon-greedy" ? spec.epsilon : 0;
  return ranks.map((_, i) => epsilon / k + (i === best ? 1 - epsilon : 0));
}
