/**
 * The reward model q̂(x, a) that doubly robust estimation needs: the mean logged reward of each
 * block, shrunk towards the overall mean, and cross-fitted — each decision's prediction comes
 * from the *other* half of the logs, so a decision's own reward never feeds its own correction
 * term (which keeps DR unbiased when the propensities are right, however crude q̂ is).
 */
import { unitHash } from "../holdout/hash.ts";

/** What the reward model learns from. */
export interface RewardObservation {
  decisionId: string;
  chosenBlockId: string;
  reward: number;
}

/** Pseudo-observations of the overall mean added to every block's mean. */
export const SHRINKAGE = 10;

const fold = (decisionId: string) => (unitHash("ope-fold", decisionId) < 0.5 ? 0 : 1);

/** Fits the two folds; returns q̂(decisionId, blockId). */
export function blockMeanRewardModel(observations: readonly RewardObservation[]): (decisionId: string, blockId: string) => number {
  const sums = [new Map<string, { sum: number; n: number }>(), new Map<string, { sum: number; n: number }>()];
  const totals = [
    { sum: 0, n: 0 },
    { sum: 0, n: 0 },
  ];
  for (const o of observations) {
    const f = fold(o.decisionId);
    const s = sums[f]!.get(o.chosenBlockId) ?? { sum: 0, n: 0 };
    s.sum += o.reward;
    s.n += 1;
    sums[f]!.set(o.chosenBlockId, s);
    totals[f]!.sum += o.reward;
    totals[f]!.n += 1;
  }
  return (decisionId, blockId) => {
    const other = 1 - fold(decisionId);
    const total = totals[other]!;
    const prior = total.n ? total.sum / total.n : 0;
    const s = sums[other]!.get(blockId);
    return s ? (s.sum + SHRINKAGE * prior) / (s.n + SHRINKAGE) : prior;
  };
}
