import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { adaptiveId, adaptiveVersion } from "../../worker/adaptive/model.ts";
import { learnFromLog, learnUntilCaughtUp } from "../../worker/adaptive/store.ts";
import type { AuditRecord } from "../../worker/audit/record.ts";
import { builtinId } from "../../worker/models/builtin.ts";
import { isolateModelRuntime } from "../../worker/models/runtime.ts";
import { consumeLog } from "../../worker/pipeline/consume.ts";
import { consumerDeps } from "../../worker/pipeline/wire.ts";
import type { Block } from "../../worker/catalog/schema.ts";
import demoCatalog from "../../worker/catalog/demo-catalog.json";
import { buildFeatureMatrix, FEATURE_NAMES } from "../../worker/ranking/features.ts";
import { adaptiveFeatureNames } from "../../worker/adaptive/features.ts";
import type { Signals } from "../../worker/ranking/signals.ts";
import { visitorKey } from "../../worker/visitor/key.ts";
import { auditRecord, writeAudit } from "./audit-fixtures.ts";
import { postDecide } from "./helpers.ts";
import { adminCall, adminOk, AUTH, shoesShopper, treatedVisitors } from "./models-helpers.ts";
import { messageBatch } from "./pipeline-harness.ts";

const T0 = 1_769_000_000_000;
const MINUTE = 60_000;
const HERO = ["hero-jackets-rain", "hero-shoes-trail"];
/** The adaptive features of a hero block for the shoes shopper of the serving tests, as decide computes them. */
const SHOPPER = shoesShopper("x").context.signals as Signals;
const BLOCKS = (demoCatalog.blocks as unknown as Block[]).map((b) => ({ ...b, tags: b.tags ?? [] }));
const row = (blockId: string) => Array.from(buildFeatureMatrix(adaptiveFeatureNames(), SHOPPER, [BLOCKS.find((b) => b.id === blockId)!]));

let id: string;

async function reset() {
  await env.DB.batch(["DELETE FROM adaptive_models", "DELETE FROM adaptive_blocks", "DELETE FROM model_deployments", "DELETE FROM decisions", "DELETE FROM events"].map((s) => env.DB.prepare(s)));
  isolateModelRuntime.invalidate();
}
beforeEach(async () => {
  id = await adaptiveId();
  await reset();
});
afterEach(reset);

/**
 * `n` shown decisions alternating jackets / shoes; jackets clicked on every other one of its
 * decisions, shoes never. Plus decisions the learner must skip: one not shown, one holdout, one
 * logged with another feature list.
 */
async function logTraffic(n: number, t0 = T0): Promise<{ records: AuditRecord[]; events: Array<{ id: string; time: number; type: string; decisionId: string; visitorKey: string }> }> {
  const records: AuditRecord[] = [];
  const events = [];
  for (let i = 0; i < n; i++) {
    const chosen = HERO[i % 2]!;
    const decisionId = `ad-${t0}-${i}`;
    const vk = await visitorKey(`ad-v-${i}`);
    // Every third decision as the default model logs it: the 16 v1 features (no block_affinity_log).
    const v1 = i % 3 === 0;
    const names = v1 ? [...FEATURE_NAMES] : [...adaptiveFeatureNames()];
    const features = HERO.map((h) => (v1 ? row(h).slice(0, FEATURE_NAMES.length) : row(h)));
    records.push(await auditRecord({ decisionId, visitorId: `ad-v-${i}`, time: t0 + i, candidates: HERO, featureNames: names, features, scores: [0.05, 0.05], chosenBlockId: chosen, excluded: [], shadows: [] }));
    events.push({ id: `ad-imp-${t0}-${i}`, time: t0 + i + 1, type: "impression", decisionId, visitorKey: vk });
    if (chosen === HERO[0] && i % 4 === 0) events.push({ id: `ad-click-${t0}-${i}`, time: t0 + i + 2, type: "click", decisionId, visitorKey: vk });
  }
  records.push(await auditRecord({ decisionId: `ad-${t0}-unseen`, time: t0 + n, candidates: HERO, featureNames: [...adaptiveFeatureNames()], features: HERO.map(row), chosenBlockId: HERO[0] }));
  records.push(await auditRecord({ decisionId: `ad-${t0}-holdout`, time: t0 + n + 1, holdout: true, candidates: HERO, featureNames: [...adaptiveFeatureNames()], features: HERO.map(row), chosenBlockId: HERO[0] }));
  records.push(await auditRecord({ decisionId: `ad-${t0}-other`, time: t0 + n + 2 }));
  for (const extra of ["holdout", "other"]) events.push({ id: `ad-imp-${t0}-${extra}`, time: t0 + n + 3, type: "impression", decisionId: `ad-${t0}-${extra}`, visitorKey: await visitorKey("ad-x") });
  return { records, events };
}

async function store(traffic: Awaited<ReturnType<typeof logTraffic>>) {
  await writeAudit(traffic.records);
  const insert = env.DB.prepare("INSERT INTO events (id, time, type, decision_id, visitor_key) VALUES (?, ?, ?, ?, ?)");
  for (let i = 0; i < traffic.events.length; i += 200) await env.DB.batch(traffic.events.slice(i, i + 200).map((e) => insert.bind(e.id, e.time, e.type, e.decisionId, e.visitorKey)));
}

interface StateExport {
  revision: number;
  coefficients: string[];
  blocks: Array<{ blockId: string; n: number; positives: number; mean: number[]; sd: number[]; baseRate: number }>;
}

describe("the built-in adaptive model", () => {
  it("is registered beside the default model: listed, available, 17 features, a probability", async () => {
    const list = await adminOk<{ models: Array<{ id: string; name: string; status: string; features: number; output: string }> }>("?limit=200");
    expect(list.models.find((m) => m.id === id)).toMatchObject({ name: "nextbest-adaptive", status: "available", features: 17, output: "probability" });
    const state = await adminOk<StateExport>(`/${id}/adaptive`);
    expect(state).toMatchObject({ revision: 0, blocks: [] });
    expect(state.coefficients).toEqual(["(intercept)", ...adaptiveFeatureNames()]);
    expect(adaptiveFeatureNames()).toHaveLength(17);
  });

  it("GET /adaptive of an ONNX model is a 409", async () => {
    const res = await adminCall(`/${await builtinId()}/adaptive`);
    expect(res.status).toBe(409);
  });

  it("learns once from shown, labelled, non-holdout decisions logged with its feature list", async () => {
    await store(await logTraffic(200));
    // Too recent: outcomes may still arrive, nothing is learned.
    expect((await learnFromLog(env.DB, id, { now: T0 + 5 * MINUTE })).learned).toBe(0);
    const first = await learnUntilCaughtUp(env.DB, id, { now: T0 + 60 * MINUTE });
    expect(first.reduce((s, r) => s + r.learned, 0)).toBe(200);
    expect(first.reduce((s, r) => s + r.positives, 0)).toBe(50);
    const again = await learnUntilCaughtUp(env.DB, id, { now: T0 + 61 * MINUTE });
    expect(again.reduce((s, r) => s + r.learned, 0)).toBe(0);
    const state = await adminOk<StateExport>(`/${id}/adaptive`);
    const jackets = state.blocks.find((b) => b.blockId === HERO[0])!;
    const shoes = state.blocks.find((b) => b.blockId === HERO[1])!;
    expect([jackets.n, jackets.positives, shoes.n, shoes.positives]).toEqual([100, 50, 100, 0]);
    expect(state.revision).toBeGreaterThanOrEqual(1);
    // The posterior moved toward what happened and narrowed.
    const p = (b: typeof jackets) => 1 / (1 + Math.exp(-b.mean.reduce((s, m, i) => s + m * (i === 0 ? 1 : row(b.blockId)[i - 1]!), 0)));
    expect(p(jackets)).toBeGreaterThan(0.25);
    expect(p(shoes)).toBeLessThan(0.03);
    expect(jackets.sd[0]!).toBeLessThan(1);
  });

  it("two learners racing apply each decision once (optimistic concurrency)", async () => {
    await store(await logTraffic(100));
    const [a, b] = await Promise.all([learnFromLog(env.DB, id, { now: T0 + 60 * MINUTE }), learnFromLog(env.DB, id, { now: T0 + 60 * MINUTE })]);
    expect([a.written, b.written].filter(Boolean)).toHaveLength(1);
    await learnUntilCaughtUp(env.DB, id, { now: T0 + 60 * MINUTE });
    const state = await adminOk<StateExport>(`/${id}/adaptive`);
    expect(state.blocks.reduce((s, x) => s + x.n, 0)).toBe(100);
  });

  it("learns through the log consumer: the after-commit step of a batch", async () => {
    const traffic = await logTraffic(40, T0 + 1000);
    const deliveries = [
      { id: "m-d", body: { v: 1, kind: "decisions", records: traffic.records }, attempts: 1 },
      { id: "m-e", body: { v: 1, kind: "events", records: traffic.events.map((e) => ({ ...e, name: null, blockId: null, slot: null, value: null, currency: null })) }, attempts: 1 },
    ];
    const { batch, outcome } = messageBatch("nextbest-log", deliveries);
    const result = await consumeLog(batch, consumerDeps(env, () => T0 + 60 * MINUTE));
    expect(result.written).toBeGreaterThan(0);
    expect([...outcome.values()]).toEqual(["ack", "ack"]);
    const state = await adminOk<StateExport>(`/${id}/adaptive`);
    expect(state.blocks.reduce((s, x) => s + x.n, 0)).toBe(40);
  });
});

interface DebugDecide {
  decisions: Array<{ slot: string; block: { id: string }; modelVersion: string | null; reason: string; propensity: number; explored?: boolean; score?: number }>;
  debug: { arm?: string; traces: Array<{ shadows: Array<{ version: string; chosenBlockId?: string }> }> };
}

async function decideDebug(visitorId: string, slots = ["hero"]): Promise<DebugDecide> {
  const res = await postDecide({ ...shoesShopper(visitorId, slots), debug: true }, AUTH);
  if (res.status !== 200) throw new Error(`decide answered ${res.status}: ${await res.text()}`);
  return res.json();
}

describe("serving by Thompson sampling", () => {
  it("cold start: as champion with only the prior it explores every hero block, logging propensities < 1", async () => {
    await adminOk(`/${id}/activate`, "POST");
    const version = await adaptiveVersion();
    const served = new Set<string>();
    for (const v of treatedVisitors("ad-cold", 40)) {
      const d = (await decideDebug(v)).decisions[0]!;
      expect(d).toMatchObject({ modelVersion: version, reason: "ranked" });
      expect(d.propensity).toBeGreaterThan(0);
      expect(d.propensity).toBeLessThan(1);
      served.add(d.block.id);
    }
    expect(served.size).toBeGreaterThanOrEqual(3);
  });

  it("after learning it serves the block that clicks, and still explores a little", async () => {
    await store(await logTraffic(400));
    const learn = await adminOk<{ learned: number }>(`/${id}/adaptive/learn`, "POST", { labelDelayMs: 0 });
    expect(learn.learned).toBe(400);
    await adminOk(`/${id}/activate`, "POST");
    const picks = [];
    for (const v of treatedVisitors("ad-warm", 40)) picks.push((await decideDebug(v)).decisions[0]!);
    const jackets = picks.filter((p) => p.block.id === HERO[0]);
    // Blocks never observed keep the prior and are still tried now and then (cold start).
    expect(jackets.length).toBeGreaterThan(25);
    expect(Math.max(...jackets.map((p) => p.propensity))).toBeGreaterThan(0.6);
    // The block that never clicked is (nearly) never served.
    expect(picks.filter((p) => p.block.id === HERO[1]).length).toBeLessThanOrEqual(2);
  });

  it("as a shadow it logs its posterior-mean choice beside the default champion", async () => {
    await adminOk(`/${id}/shadow`, "POST");
    const d = await decideDebug(treatedVisitors("ad-shadow", 1)[0]!);
    expect(d.decisions[0]!.modelVersion).toMatch(/^nextbest-default@/);
    expect(d.debug.traces[0]!.shadows.map((s) => s.version)).toEqual([await adaptiveVersion()]);
    expect(d.debug.traces[0]!.shadows[0]!.chosenBlockId).toBeTruthy();
  });

  it("refuses a calibration: Thompson sampling ranks by posterior draws (409)", async () => {
    const res = await adminCall(`/${id}/calibrate`, "POST", { method: "platt" });
    expect(res.status).toBe(409);
  });
});
