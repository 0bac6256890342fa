import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { mulberry32 } from "../../models/prng.ts";
import { DEMO_CATALOG } from "../../worker/catalog/store.ts";
import { compareOnLog, overlaps, pairedDifference } from "../../worker/evaluation/compare.ts";
import type { OpeSample } from "../../worker/evaluation/estimators.ts";
import type { LoggedDecision } from "../../worker/export/line.ts";
import { loadDefaultScorer } from "../../worker/ranking/active-model.ts";
import { ADMIN, auditRecord, insertEvent, writeAudit } from "./audit-fixtures.ts";
import { call } from "./helpers.ts";
import { manifestOf, matmulModel } from "./models-fixtures.ts";
import { uploadOk } from "./models-helpers.ts";

/** Six decisions with hand-picked numbers; reference values computed independently (Python). */
const r = [1, 0, 1, 0, 1, 1];
const p = [0.5, 0.25, 0.5, 0.25, 0.5, 0.25];
const q = [0.6, 0.2, 0.6, 0.2, 0.6, 0.3];
const side = (target: number[], value: number[]): OpeSample[] => r.map((reward, i) => ({ reward, propensity: p[i], targetProbability: target[i]!, predictedReward: q[i], predictedValue: value[i] }));
const CANDIDATE = side([1, 0, 0, 1, 1, 1], [0.6, 0.2, 0.2, 0.6, 0.6, 0.3]);
const CHAMPION = side([0, 1, 1, 0, 1, 0], [0.2, 0.6, 0.6, 0.2, 0.6, 0.5]);

describe("pairedDifference (candidate − champion)", () => {
  it.each([
    { estimator: "ips" as const, estimate: 0.6666666666666666, low: -0.9861200861454978, high: 2.319453419478831 },
    { estimator: "dr" as const, estimate: 0.4333333333333333, low: -0.6301967359714757, high: 1.4968634026381424 },
  ])("$estimator: $estimate [$low, $high] at 95%", ({ estimator, estimate, low, high }) => {
    const d = pairedDifference(CANDIDATE, CHAMPION)[estimator]!;
    expect(d.estimate).toBeCloseTo(estimate, 12);
    expect(d.low).toBeCloseTo(low, 9);
    expect(d.high).toBeCloseTo(high, 9);
  });
  it("a policy against itself differs by exactly 0", () => {
    expect(pairedDifference(CANDIDATE, CANDIDATE).ips).toEqual({ estimate: 0, low: 0, high: 0 });
  });
  it.each([
    { name: "different lengths", champion: CHAMPION.slice(1) },
    { name: "different decisions", champion: CHAMPION.map((s, i) => (i === 2 ? { ...s, reward: 0 } : s)) },
  ])("refuses $name", ({ champion }) => {
    expect(() => pairedDifference(CANDIDATE, champion)).toThrow(RangeError);
  });
});

describe("compareOnLog", () => {
  const decision = (i: number): LoggedDecision =>
    ({ decisionId: `d${i}`, time: i, chosenBlockId: "a", propensity: 0.5, candidates: [{ blockId: "a" }, { blockId: "b" }], outcomes: { impression: 1, click: i % 2, conversion: 0, value: 0 } }) as unknown as LoggedDecision;
  const decisions = [0, 1, 2, 3].map(decision);
  it("leaves out of both sides a decision either cannot replay", () => {
    const cand = [{ probabilities: [1, 0] }, { probabilities: [1, 0] }, { skip: "features_not_logged" }, { probabilities: [0, 1] }];
    const champ = [{ probabilities: [0, 1] }, { skip: "non_finite_score" }, { probabilities: [1, 0] }, { probabilities: [1, 0] }];
    const c = compareOnLog(decisions, cand, champ, "click");
    expect(c.evaluated).toBe(2);
    expect(c.skipped).toEqual({ features_not_logged: 1, champion_non_finite_score: 1 });
    expect(c.candidate.estimates.n).toBe(2);
    expect(c.champion.estimates.n).toBe(2);
    // IPS difference = IPS(candidate) − IPS(champion) on the same decisions (linearity).
    expect(c.difference.ips.estimate).toBeCloseTo(c.candidate.estimates.ips.estimate! - c.champion.estimates.ips.estimate!, 12);
  });
  it.each([
    { a: { from: 0, to: 10 }, b: { from: 10, to: 20 }, overlap: true },
    { a: { from: 0, to: 10 }, b: { from: 11, to: 20 }, overlap: false },
    { a: { from: 5, to: 6 }, b: { from: 0, to: 20 }, overlap: true },
    { a: { from: 30, to: 40 }, b: { from: 0, to: 20 }, overlap: false },
  ])("overlaps($a, $b) = $overlap", ({ a, b, overlap }) => {
    expect(overlaps(a, b)).toBe(overlap);
  });
});

// Logged traffic in its own time window: uniform random over the hero blocks, clicks on a random
// "interest" block, features of the default model.
const T0 = 1_768_000_000_000;
const N = 200;
const logged = (async () => {
  const scorer = await loadDefaultScorer();
  const hero = DEMO_CATALOG.blocks.filter((b) => b.slots.includes("hero")).map((b) => b.id);
  const rng = mulberry32(17);
  const records = [];
  const clicks: string[] = [];
  for (let i = 0; i < N; i++) {
    const features = hero.map(() => scorer.manifest.features.map(() => (rng() < 0.3 ? 1 : 0)));
    const chosen = Math.floor(rng() * hero.length);
    const record = await auditRecord({ decisionId: `cmp-${i}`, visitorId: `cmp-v-${i}`, time: T0 + i, candidates: hero, featureNames: scorer.manifest.features, features, scores: hero.map(() => 0), chosenBlockId: hero[chosen]!, propensity: 1 / hero.length });
    records.push(record);
    if (rng() < 0.4) clicks.push(`cmp-${i}`);
  }
  await writeAudit(records);
  for (const id of clicks) await insertEvent({ time: T0 + N, type: "click", decisionId: id, visitorId: `cmp-v-${id.slice(4)}` });
  return scorer;
})();

/** A candidate: a linear model over the default model's features, trained over `training`. */
async function candidate(training: { from: number; to: number; rows: number } | undefined, seed: number) {
  const scorer = await logged;
  const features = scorer.manifest.features;
  const rng = mulberry32(seed);
  const manifest = { ...manifestOf(features, "probability", `cmp-candidate-${seed}`), ...(training ? { training } : {}) };
  return uploadOk(matmulModel({ manifest, width: features.length, weights: features.map(() => rng() * 4 - 2), bias: -1 }));
}

interface Interval {
  estimate: number | null;
  low: number | null;
  high: number | null;
}
interface Evaluation {
  ips: Interval;
  trainingRange: unknown;
  warnings: string[];
  comparison: {
    method: string;
    champion: { id: string; version: string };
    candidateIsChampion: boolean;
    evaluated: number;
    candidate: { ips: Interval; dr: Interval };
    championEstimates: { ips: Interval; dr: Interval };
    difference: { ips: Interval; dr: Interval };
    verdict: string;
  };
}
async function evaluate(id: string): Promise<Evaluation> {
  const res = await call(`/admin/models/${id}/evaluate`, { method: "POST", headers: { ...ADMIN, "content-type": "application/json" }, body: JSON.stringify({ from: T0, to: T0 + N }) });
  expect(res.status).toBe(200);
  return res.json();
}

describe("POST /admin/models/:id/evaluate: candidate vs the current champion", () => {
  it("answers both side by side with the paired difference and its interval", async () => {
    const model = await candidate({ from: T0 - 100_000, to: T0 - 1, rows: 5000 }, 3);
    const body = await evaluate(model.id);
    const deployment = await (await call("/admin/models/deployment", { headers: ADMIN })).json<{ champion: { id: string } | string }>();
    const championId = typeof deployment.champion === "string" ? deployment.champion : deployment.champion.id;
    const c = body.comparison;
    expect(c.method).toMatch(/paired difference/);
    expect(c.champion.id).toBe(championId);
    expect(c.candidateIsChampion).toBe(false);
    expect(c.evaluated).toBe(N);
    expect(c.candidate.ips).toEqual(body.ips);
    for (const k of ["ips", "dr"] as const) {
      const d = c.difference[k];
      expect(d.estimate).toBeCloseTo(c.candidate[k].estimate! - c.championEstimates[k].estimate!, 9);
      expect(d.low!).toBeLessThan(d.estimate!);
      expect(d.high!).toBeGreaterThan(d.estimate!);
    }
    expect(["candidate_better", "champion_better", "inconclusive"]).toContain(c.verdict);
    // Trained before the window: no overlap warning.
    expect(body.trainingRange).toEqual({ from: T0 - 100_000, to: T0 - 1, rows: 5000 });
    expect(body.warnings.join(" ")).not.toMatch(/overlap/);
  });

  it.each([
    { name: "covers the window", training: { from: T0 - 1000, to: T0 + 2 * N, rows: 10 }, warning: /overlap the candidate's training data/ },
    { name: "ends inside the window", training: { from: 0, to: T0 + 50, rows: 10 }, warning: /overlap the candidate's training data .*from: 1768000000051/ },
    { name: "is not recorded", training: undefined, warning: /records no training range/ },
  ])("warns when the training range $name", async ({ training, warning }) => {
    const model = await candidate(training, 5 + (training?.to ?? 0) % 7);
    const body = await evaluate(model.id);
    expect(body.warnings.join(" ")).toMatch(warning);
  });

  it("the champion against itself: difference 0, said so", async () => {
    const body = await evaluate("default");
    const c = body.comparison;
    if (!c.candidateIsChampion) return expect(c.champion.version).not.toBe((await logged).version);
    expect(c.difference.ips).toEqual({ estimate: 0, low: 0, high: 0 });
    expect(body.warnings.join(" ")).toMatch(/is the current champion/);
  });
});
void env;
