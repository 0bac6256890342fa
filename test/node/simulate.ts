/**
 * Seeded simulators with a known truth, for checking the statistics: A/B experiments with a
 * known lift, and bandit logs with known policy values. Never Math.random().
 */
import { mulberry32 } from "../../models/prng.ts";
import type { LoggedDecision } from "../../worker/export/line.ts";
import type { GroupSummary } from "../../worker/reports/lift.ts";

export type Rng = () => number;
export { mulberry32 };

/** One simulated experiment's design. */
export interface ExperimentDesign {
  visitors: number;
  /** Share of visitors assigned to control. */
  controlShare: number;
  pControl: number;
  pTreatment: number;
  /** Mean order value (exponential) of a conversion. */
  orderValue: number;
  /** Share of control visitors whose logs are lost (a broken split), default 0. */
  controlLoss?: number;
}

/** Simulates one experiment and returns what the database would aggregate. */
export function simulateExperiment(rng: Rng, d: ExperimentDesign): { treatment: GroupSummary; control: GroupSummary } {
  const groups = {
    treatment: { visitors: 0, conversions: 0, kpiEvents: 0, revenue: { sum: 0, sumSquares: 0 } },
    control: { visitors: 0, conversions: 0, kpiEvents: 0, revenue: { sum: 0, sumSquares: 0 } },
  };
  for (let i = 0; i < d.visitors; i++) {
    const control = rng() < d.controlShare;
    if (control && d.controlLoss && rng() < d.controlLoss) continue;
    const g = control ? groups.control : groups.treatment;
    g.visitors++;
    if (rng() < (control ? d.pControl : d.pTreatment)) {
      g.conversions++;
      g.kpiEvents++;
      const value = -d.orderValue * Math.log(1 - rng());
      g.revenue.sum += value;
      g.revenue.sumSquares += value * value;
    }
  }
  return groups;
}

/** A contextual bandit world: click probabilities per (context, action), contexts equally likely. */
export interface BanditWorld {
  contexts: number;
  actions: number;
  /** clickProbability[x][a] */
  clickProbability: number[][];
}

export function makeWorld(rng: Rng, contexts: number, actions: number): BanditWorld {
  return {
    contexts,
    actions,
    clickProbability: Array.from({ length: contexts }, () => Array.from({ length: actions }, () => 0.02 + 0.3 * rng() ** 2)),
  };
}

/** A stochastic policy as a table: probability[x][a]. */
export type PolicyTable = number[][];

/** Softmax of per-(context, action) preferences. */
export function softmaxPolicy(preferences: number[][], temperature: number): PolicyTable {
  return preferences.map((row) => {
    const e = row.map((v) => Math.exp(v / temperature));
    const s = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / s);
  });
}

/** The true value of a policy: E_x Σ_a π(a|x) p(x, a). */
export function trueValue(world: BanditWorld, policy: PolicyTable): number {
  let v = 0;
  for (let x = 0; x < world.contexts; x++) for (let a = 0; a < world.actions; a++) v += policy[x]![a]! * world.clickProbability[x]![a]!;
  return v / world.contexts;
}

function draw(rng: Rng, probabilities: number[]): number {
  let u = rng();
  for (let a = 0; a < probabilities.length; a++) {
    u -= probabilities[a]!;
    if (u < 0) return a;
  }
  return probabilities.length - 1;
}

/** Logs n decisions under `logging` in the export line format (features: context, action). */
export function simulateLogs(rng: Rng, world: BanditWorld, logging: PolicyTable, n: number, tag = "sim"): LoggedDecision[] {
  const out: LoggedDecision[] = [];
  for (let i = 0; i < n; i++) {
    const x = Math.floor(rng() * world.contexts);
    const a = draw(rng, logging[x]!);
    const click = rng() < world.clickProbability[x]![a]! ? 1 : 0;
    out.push({
      decisionId: `${tag}-${i}`,
      time: i,
      visitorKey: `v${i}`,
      slot: "hero",
      modelVersion: "logging",
      featureNames: ["context", "action"],
      candidates: Array.from({ length: world.actions }, (_, k) => ({ blockId: `block-${k}`, features: [x, k], score: null })),
      chosenBlockId: `block-${a}`,
      propensity: logging[x]![a]!,
      holdout: false,
      outcomes: { impression: 1, click: click as 0 | 1, conversion: 0, value: 0 },
    });
  }
  return out;
}
