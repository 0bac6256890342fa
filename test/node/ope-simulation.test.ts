import { describe, expect, it } from "vitest";
import { offPolicyEstimates } from "../../worker/evaluation/estimators.ts";
import { policyProbabilities } from "../../worker/evaluation/policy.ts";
import { replay, scorerPolicy, type TargetPolicy } from "../../worker/evaluation/replay.ts";
import type { LoggedDecision } from "../../worker/export/line.ts";
import type { ModelManifest } from "../../worker/ranking/manifest.ts";
import type { Scorer } from "../../worker/ranking/scorer.ts";
import { makeWorld, mulberry32, simulateLogs, softmaxPolicy, trueValue, type PolicyTable } from "./simulate.ts";

// A world of 20 contexts × 5 blocks; the logging policy is a soft preference for the first
// blocks (every block keeps some probability), the target a different, sharper policy.
const world = makeWorld(mulberry32(42), 20, 5);
const logging = softmaxPolicy(world.clickProbability.map((row) => row.map((_, a) => -0.4 * a)), 1);
const targetTable = softmaxPolicy(world.clickProbability.map((row) => row.map((p) => 25 * p)), 1);
const truth = { target: trueValue(world, targetTable), logging: trueValue(world, logging) };

/** A target policy answering from its table (context = features[0]). */
const tablePolicy = (table: PolicyTable): TargetPolicy => ({
  async answer(decisions) {
    return decisions.map((d) => ({ probabilities: table[d.candidates[0]!.features[0]!]! }));
  },
});

/** A scorer computing `f(row)` in plain JS (worker/ranking/scorer.ts loads the ONNX runtime, which node cannot). */
const fnScorer = (manifest: ModelManifest, f: (row: number[]) => number): Scorer => ({
  version: manifest.name,
  manifest,
  async score(features, rows) {
    const w = manifest.features.length;
    return Float32Array.from({ length: rows }, (_, r) => f([...features.subarray(r * w, r * w + w)]));
  },
});

const covers = (i: { low: number | null; high: number | null } | null, v: number) => !!i && i.low! <= v && v <= i.high!;

describe("off-policy estimates on simulated logs with known policy values", () => {
  it("the target policy really differs from the logging policy", () => {
    console.log(`true values: target ${truth.target.toFixed(4)}, logging ${truth.logging.toFixed(4)}`);
    expect(truth.target - truth.logging).toBeGreaterThan(0.03);
  });

  it("IPS, SNIPS and DR intervals of a second policy contain its true value (one large log)", async () => {
    const logs = simulateLogs(mulberry32(1), world, logging, 50_000);
    const { estimates: e } = await replay(logs, tablePolicy(targetTable), "click");
    console.log(
      `n=50000 truth ${truth.target.toFixed(4)}: IPS ${e.ips.estimate!.toFixed(4)} [${e.ips.low!.toFixed(4)}, ${e.ips.high!.toFixed(4)}], ` +
        `SNIPS ${e.snips.estimate!.toFixed(4)} [${e.snips.low!.toFixed(4)}, ${e.snips.high!.toFixed(4)}], ` +
        `DR ${e.dr!.estimate!.toFixed(4)} [${e.dr!.low!.toFixed(4)}, ${e.dr!.high!.toFixed(4)}], ESS ${e.effectiveSampleSize.toFixed(0)}`,
    );
    for (const i of [e.ips, e.snips, e.dr]) expect(covers(i, truth.target)).toBe(true);
    expect(covers(e.logged, truth.logging)).toBe(true);
    // The reward model takes variance out: DR is tighter than IPS.
    expect(e.dr!.high! - e.dr!.low!).toBeLessThan(e.ips.high! - e.ips.low!);
  });

  it("over 300 logs of 3,000 decisions the 95% intervals cover the truth about 95% of the time", async () => {
    const rng = mulberry32(2);
    const hits = { ips: 0, snips: 0, dr: 0 };
    const runs = 300;
    for (let r = 0; r < runs; r++) {
      const { estimates: e } = await replay(simulateLogs(rng, world, logging, 3000, `r${r}`), tablePolicy(targetTable), "click");
      if (covers(e.ips, truth.target)) hits.ips++;
      if (covers(e.snips, truth.target)) hits.snips++;
      if (covers(e.dr, truth.target)) hits.dr++;
    }
    console.log(`coverage: IPS ${hits.ips / runs}, SNIPS ${hits.snips / runs}, DR ${hits.dr / runs}`);
    for (const h of Object.values(hits)) {
      expect(h / runs).toBeGreaterThanOrEqual(0.91);
      expect(h / runs).toBeLessThanOrEqual(0.99);
    }
  });

  it("evaluating the logging policy on its own logs gives the observed mean exactly (IPS)", async () => {
    const logs = simulateLogs(mulberry32(3), world, logging, 5000);
    const { estimates: e } = await replay(logs, tablePolicy(logging), "click");
    expect(e.ips.estimate).toBe(e.logged.estimate);
    expect(e.snips.estimate).toBe(e.logged.estimate);
    expect(e.effectiveSampleSize).toBeCloseTo(5000, 6);
  });
});

describe("refusals and edge cases", () => {
  it.each([
    { name: "missing", propensity: null },
    { name: "zero", propensity: 0 },
    { name: "above 1", propensity: 1.5 },
  ])("refuses logs with a $name propensity (422 missing_propensity)", ({ propensity }) => {
    const samples = [
      { reward: 1, propensity: 0.5, targetProbability: 1 },
      { reward: 0, propensity, targetProbability: 1 },
    ];
    expect(() => offPolicyEstimates(samples)).toThrow(expect.objectContaining({ code: "missing_propensity", status: 422 }));
  });

  it("no overlap: IPS is 0, SNIPS undefined, ESS 0", () => {
    const e = offPolicyEstimates([{ reward: 1, propensity: 1, targetProbability: 0 }]);
    expect(e.ips.estimate).toBe(0);
    expect(e.snips.estimate).toBeNull();
    expect(e.effectiveSampleSize).toBe(0);
  });

  it.each([
    { spec: { type: "greedy" as const }, expected: [0, 1, 0] },
    { spec: { type: "epsilon-greedy" as const, epsilon: 0.3 }, expected: [0.1, 0.8, 0.1] },
  ])("$spec.type probabilities", ({ spec, expected }) => {
    const p = policyProbabilities([1, 3, 2], ["a", "b", "c"], spec);
    p.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 12));
  });

  it("greedy ties go to the smallest block id; softmax follows the temperature", () => {
    expect(policyProbabilities([2, 2], ["b", "a"], { type: "greedy" })).toEqual([0, 1]);
    const soft = policyProbabilities([0, Math.log(3)], ["a", "b"], { type: "softmax", temperature: 1 });
    expect(soft[1]).toBeCloseTo(0.75, 12);
  });
});

describe("a model as the target policy", () => {
  const decision = (over: Partial<LoggedDecision> = {}): LoggedDecision => ({
    decisionId: "d1",
    time: 1,
    visitorKey: "v",
    slot: "hero",
    modelVersion: "m",
    featureNames: ["block_default", "page_category_match"],
    candidates: [
      { blockId: "cheap", features: [0, 1], score: 0.5 },
      { blockId: "dear", features: [0, 0], score: 0.2 },
    ],
    chosenBlockId: "cheap",
    propensity: 0.95,
    holdout: false,
    outcomes: { impression: 1, click: 1, conversion: 0, value: 0 },
    ...over,
  });
  const values = new Map([
    ["cheap", 1],
    ["dear", 10],
  ]);

  it("reorders logged features into the manifest's order and arbitrates probability × value", async () => {
    // A probability model reading page_category_match then block_default: 0.5 for "cheap", 0.1 for "dear".
    const manifest = { version: 1 as const, name: "p", features: ["page_category_match", "block_default"], output: "probability" as const };
    const scorer = fnScorer(manifest, ([match]) => 0.1 + 0.4 * match!);
    const [answer] = await scorerPolicy(scorer, values, { type: "greedy" }).answer([decision()]);
    // 0.5 × 1 < 0.1 × 10: the expensive block wins arbitration.
    expect(answer).toEqual({ probabilities: [0, 1] });
    const asScore = { ...scorer, manifest: { ...manifest, output: "score" as const } };
    expect((await scorerPolicy(asScore, values, { type: "greedy" }).answer([decision()]))[0]).toEqual({ probabilities: [1, 0] });
  });

  it("skips decisions it cannot replay, with the reason", async () => {
    const manifest = { version: 1 as const, name: "p", features: ["scroll_depth"], output: "score" as const };
    const policy = scorerPolicy(fnScorer(manifest, () => 0), values, { type: "greedy" });
    const answers = await policy.answer([decision(), decision({ candidates: [] })]);
    expect(answers).toEqual([{ skip: "features_not_logged" }, { skip: "no_candidates" }]);
  });
});
