/**
 * Replays logged decisions through a target policy and estimates its value. The logged
 * candidates' features are reused as they were logged (the model sees exactly what the serving
 * model saw); a decision whose features do not cover the model's manifest cannot be replayed
 * and is counted as skipped, never guessed.
 */
import type { LoggedDecision } from "../export/line.ts";
import type { Scorer } from "../ranking/scorer.ts";
import { assertPropensities, offPolicyEstimates, type OpeEstimates, type OpeSample } from "./estimators.ts";
import { policyProbabilities, type PolicySpec } from "./policy.ts";
import { blockMeanRewardModel } from "./reward-model.ts";

/** The reward a decision earned. */
export type RewardKind = "click" | "conversion" | "value";

/** The reward of a logged decision. */
export function rewardOf(d: LoggedDecision, kind: RewardKind): number {
  return kind === "value" ? d.outcomes.value : d.outcomes[kind];
}

/** Per decision: the target's probability for each candidate, or why it cannot say. */
export type TargetAnswer = { probabilities: number[] } | { skip: string };

/** A policy under evaluation. Gets decisions in batches so a model scores many rows per call. */
export interface TargetPolicy {
  answer(decisions: readonly LoggedDecision[]): Promise<TargetAnswer[]>;
}

/** The evaluation's result. */
export interface ReplayResult {
  estimates: OpeEstimates;
  /** Logged decisions read. */
  logged: number;
  /** Decisions left out, by reason. */
  skipped: Record<string, number>;
  /** Share of evaluated decisions where the target's most likely choice is the logged one. */
  agreement: number;
}

/** Builds the estimators' input from decisions and the target's answers; pure. */
export function replaySamples(decisions: readonly LoggedDecision[], answers: readonly TargetAnswer[], reward: RewardKind): { samples: OpeSample[]; skipped: Record<string, number>; agreement: number } {
  const skipped: Record<string, number> = {};
  const skip = (reason: string) => (skipped[reason] = (skipped[reason] ?? 0) + 1);
  const kept: { d: LoggedDecision; probabilities: number[]; chosen: number }[] = [];
  decisions.forEach((d, i) => {
    const a = answers[i]!;
    if ("skip" in a) return skip(a.skip);
    const chosen = d.candidates.findIndex((c) => c.blockId === d.chosenBlockId);
    if (chosen < 0) return skip("chosen_block_not_a_candidate");
    kept.push({ d, probabilities: a.probabilities, chosen });
  });
  const qHat = blockMeanRewardModel(kept.map(({ d }) => ({ decisionId: d.decisionId, chosenBlockId: d.chosenBlockId, reward: rewardOf(d, reward) })));
  let agree = 0;
  const samples = kept.map(({ d, probabilities, chosen }) => {
    const q = d.candidates.map((c) => qHat(d.decisionId, c.blockId));
    if (probabilities.indexOf(Math.max(...probabilities)) === chosen) agree++;
    return {
      reward: rewardOf(d, reward),
      propensity: d.propensity,
      targetProbability: probabilities[chosen]!,
      predictedReward: q[chosen]!,
      predictedValue: probabilities.reduce((s, p, k) => s + p * q[k]!, 0),
    };
  });
  return { samples, skipped, agreement: kept.length ? agree / kept.length : 0 };
}

/** Evaluates a target policy on logged decisions. Refuses (422) logs without propensities. */
export async function replay(decisions: readonly LoggedDecision[], target: TargetPolicy, reward: RewardKind, confidence = 0.95): Promise<ReplayResult> {
  assertPropensities(decisions);
  const answers = await target.answer(decisions);
  const { samples, skipped, agreement } = replaySamples(decisions, answers, reward);
  return { estimates: offPolicyEstimates(samples, confidence), logged: decisions.length, skipped, agreement };
}

/** Rows per scorer call: large batches amortise the runtime's per-call cost. */
const ROWS_PER_CALL = 4096;

/**
 * A model as a target policy: scores the logged candidates' features in the model's manifest
 * order, ranks like the decide core (probability × block value for probability models, the
 * score otherwise) and turns the ranks into probabilities by `spec`.
 */
export function scorerPolicy(scorer: Scorer, blockValues: ReadonlyMap<string, number>, spec: PolicySpec): TargetPolicy {
  const names = scorer.manifest.features;
  const width = names.length;
  const byProbability = scorer.manifest.output === "probability";
  return {
    async answer(decisions) {
      const answers: TargetAnswer[] = new Array(decisions.length);
      type Job = { index: number; rows: number; offset: number };
      let jobs: Job[] = [];
      let matrix: number[] = [];
      // Per-block models (the adaptive model) score by block id as well as features.
      let blockIds: string[] = [];
      const flush = async () => {
        if (!jobs.length) return;
        const rows = matrix.length / width;
        const scores = await scorer.score(Float32Array.from(matrix), rows, { blockIds });
        for (const job of jobs) {
          const d = decisions[job.index]!;
          const ranks: number[] = [];
          let bad = false;
          for (let r = 0; r < job.rows; r++) {
            const s = scores[job.offset + r]!;
            if (!Number.isFinite(s)) bad = true;
            ranks.push(byProbability ? s * blockValues.get(d.candidates[r]!.blockId)! : s);
          }
          answers[job.index] = bad
            ? { skip: "non_finite_score" }
            : { probabilities: policyProbabilities(ranks, d.candidates.map((c) => c.blockId), spec) };
        }
        jobs = [];
        matrix = [];
        blockIds = [];
      };
      for (let i = 0; i < decisions.length; i++) {
        const d = decisions[i]!;
        if (d.candidates.length === 0) {
          answers[i] = { skip: "no_candidates" };
          continue;
        }
        const columns = names.map((n) => d.featureNames.indexOf(n));
        if (columns.some((c) => c < 0) || d.candidates.some((c) => c.features.length !== d.featureNames.length)) {
          answers[i] = { skip: "features_not_logged" };
          continue;
        }
        if (byProbability && d.candidates.some((c) => !blockValues.has(c.blockId))) {
          answers[i] = { skip: "block_not_in_catalog" };
          continue;
        }
        jobs.push({ index: i, rows: d.candidates.length, offset: matrix.length / width });
        for (const c of d.candidates) for (const col of columns) matrix.push(c.features[col]!);
        for (const c of d.candidates) blockIds.push(c.blockId);
        if (matrix.length / width >= ROWS_PER_CALL) await flush();
      }
      await flush();
      return answers;
    },
  };
}
