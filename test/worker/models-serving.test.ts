import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { AppError } from "../../worker/errors/app-error.ts";
import { builtinId } from "../../worker/models/builtin.ts";
import { applyAction, inChallenger, initialDeployment, type DeploymentAction, type DeploymentState } from "../../worker/models/deployment.ts";
import { DEPLOYMENT_TTL_MS, MAX_ROLLBACK_HISTORY } from "../../worker/models/limits.ts";
import { memoryModelRegistry } from "../../worker/models/registry.ts";
import { createModelRuntime, isolateModelRuntime, modelSourceFromEnv, STALE_LOAD_MS } from "../../worker/models/runtime.ts";
import { sha256Hex } from "../../worker/models/scorer.ts";
import { postDecide } from "./helpers.ts";
import { linearModel } from "./models-fixtures.ts";
import { adminCall, adminOk, AUTH, shoesShopper, treatedVisitors, uploadOk } from "./models-helpers.ts";

const antiMatch = () => linearModel(["page_category_match"], [-10], 0, "anti-match");

afterEach(async () => {
  await env.DB.prepare("DELETE FROM model_deployments").run();
  isolateModelRuntime.invalidate();
});

interface DebugDecide {
  decisions: Array<{ slot: string; block: { id: string }; modelVersion: string | null; reason: string }>;
  debug?: { arm?: string; traces?: Array<{ slot: string; shadows: Array<{ version: string; chosenBlockId?: string; scores: Record<string, number> }> }> };
}

/** Decides with `debug: true` (admin token), which adds the arm and the shadows' choices. */
async function decideDebug(visitorId: string, slots = ["hero", "sidebar"]): Promise<DebugDecide> {
  const res = await postDecide({ ...shoesShopper(visitorId, slots), debug: true }, AUTH);
  if (res.status !== 200) throw new Error(`decide answered ${res.status}: ${await res.text()}`);
  return res.json();
}

describe("challenger split", () => {
  const ids = Array.from({ length: 20_000 }, (_, i) => `visitor-${i}`);

  it.each([1, 10, 30, 50])("ranks %s%% of 20k visitors by the challenger, within ±1 point", (percent) => {
    const challenger = { id: "c".repeat(64), percent };
    const share = ids.filter((v) => inChallenger(challenger, v)).length / ids.length;
    expect(Math.abs(share - percent / 100)).toBeLessThan(0.01);
  });

  it("is deterministic, keeps visitors in when the share grows, and reshuffles per challenger", () => {
    const at10 = ids.filter((v) => inChallenger({ id: "c".repeat(64), percent: 10 }, v));
    expect(ids.filter((v) => inChallenger({ id: "c".repeat(64), percent: 10 }, v))).toEqual(at10);
    expect(at10.every((v) => inChallenger({ id: "c".repeat(64), percent: 30 }, v))).toBe(true);
    const other = ids.filter((v) => inChallenger({ id: "d".repeat(64), percent: 10 }, v));
    const overlap = other.filter((v) => at10.includes(v)).length / at10.length;
    expect(overlap).toBeLessThan(0.2); // independent draws overlap by ~10%
  });

  it("serves the challenger's ranking and version to its visitors only; percent 0 removes it", async () => {
    const { id, version } = await uploadOk(antiMatch());
    const set = await adminOk<{ deployment: { challenger: { id: string; percent: number } } }>(`/${id}/challenger`, "POST", { percent: 50 });
    expect(set.deployment.challenger).toMatchObject({ id, percent: 50 });
    const visitors = treatedVisitors("challenger", 40);
    const inArm = visitors.filter((v) => inChallenger({ id, percent: 50 }, v)).slice(0, 3);
    const outArm = visitors.filter((v) => !inChallenger({ id, percent: 50 }, v)).slice(0, 3);
    expect([inArm.length, outArm.length]).toEqual([3, 3]);
    for (const v of inArm) {
      const { decisions, debug } = await decideDebug(v, ["hero"]);
      expect(decisions[0]).toMatchObject({ modelVersion: version, block: { id: "hero-jackets-rain" } });
      expect(debug?.arm).toBe("challenger");
    }
    for (const v of outArm) {
      const { decisions, debug } = await decideDebug(v, ["hero"]);
      expect(decisions[0]!.modelVersion).toMatch(/^nextbest-default@/);
      expect(decisions[0]!.block.id).toBe("hero-shoes-trail");
      expect(debug?.arm).toBe("champion");
    }
    const removed = await adminOk<{ deployment: { challenger: unknown } }>(`/${id}/challenger`, "POST", { percent: 0 });
    expect(removed.deployment.challenger).toBeNull();
    const [later] = treatedVisitors("challenger-after", 40).filter((v) => inChallenger({ id, percent: 50 }, v));
    expect((await decideDebug(later!, ["hero"])).decisions[0]!.modelVersion).toMatch(/^nextbest-default@/);
  });

  it("refuses the champion as its own challenger with 409", async () => {
    const res = await adminCall(`/${await builtinId()}/challenger`, "POST", { percent: 10 });
    expect(res.status).toBe(409);
  });
});

describe("shadow models", () => {
  it("are scored and logged on every decision but never change what is served", async () => {
    const { id, version } = await uploadOk(antiMatch());
    const visitors = treatedVisitors("shadow", 8);
    const served = (d: DebugDecide) => d.decisions.map((x) => [x.slot, x.block.id, x.modelVersion, x.reason]);

    const without = await Promise.all(visitors.slice(0, 4).map((v) => decideDebug(v)));
    const added = await adminOk<{ deployment: { shadows: Array<{ id: string }> } }>(`/${id}/shadow`, "POST");
    expect(added.deployment.shadows.map((s) => s.id)).toEqual([id]);
    const withShadow = await Promise.all(visitors.slice(4).map((v) => decideDebug(v)));

    // Same signals, exploration off: identical answers with and without the shadow …
    expect(withShadow.map(served)).toEqual(without.map(served));
    expect(withShadow[0]!.decisions[0]!.block.id).toBe("hero-shoes-trail");
    // … although the shadow, logged with its scores, would have served other blocks.
    for (const d of withShadow) {
      const hero = d.debug!.traces!.find((t) => t.slot === "hero")!;
      expect(hero.shadows).toEqual([expect.objectContaining({ version, chosenBlockId: "hero-jackets-rain" })]);
      expect(hero.shadows[0]!.scores["hero-shoes-trail"]).toBeLessThan(0.001);
    }
    for (const d of without) expect(d.debug!.traces!.every((t) => t.shadows.length === 0)).toBe(true);

    const removed = await adminOk<{ deployment: { shadows: unknown[] } }>(`/${id}/shadow`, "DELETE");
    expect(removed.deployment.shadows).toEqual([]);
  });

  it("allows at most two, and never the champion", async () => {
    const models = await Promise.all([1, 2, 3].map((k) => uploadOk(linearModel(["block_promo"], [k], 0, `shadow-${k}`))));
    await adminOk(`/${models[0]!.id}/shadow`, "POST");
    await adminOk(`/${models[1]!.id}/shadow`, "POST");
    expect((await adminCall(`/${models[2]!.id}/shadow`, "POST")).status).toBe(409);
    expect((await adminCall(`/${await builtinId()}/shadow`, "POST")).status).toBe(409);
  });
});

describe("running isolates pick up a change without restart", () => {
  it(`within the deployment TTL (${DEPLOYMENT_TTL_MS} ms ≤ 10 s)`, async () => {
    expect(DEPLOYMENT_TTL_MS).toBeLessThanOrEqual(10_000);
    let t = 1_000_000;
    // Another isolate: its own runtime and clock, the same D1 and R2.
    const other = createModelRuntime({ now: () => t });
    const provider = other.provider(modelSourceFromEnv(env));
    expect((await provider.select("v-1")).serving.version).toMatch(/^nextbest-default@/);

    const { id, version } = await uploadOk(antiMatch());
    await adminOk(`/${id}/activate`, "POST");
    t += DEPLOYMENT_TTL_MS - 1;
    expect((await provider.select("v-1")).serving.version).toMatch(/^nextbest-default@/);
    t += 1;
    expect((await provider.select("v-1")).serving.version).toBe(version);
  });
});

describe("the session cache", () => {
  it("keeps at most 4 sessions and releases the evicted ones", async () => {
    const store = memoryModelRegistry();
    const ids: string[] = [];
    for (let k = 0; k < 6; k++) {
      const bytes = linearModel(["block_priority"], [k + 1], 0, `lru-${k}`);
      const id = await sha256Hex(bytes);
      await store.files.put(id, bytes, `lru-${k}`);
      ids.push(id);
    }
    const runtime = createModelRuntime({ cacheSize: 4, ttlMs: 0 });
    const provider = runtime.provider({ registry: store, files: store.files });
    const scorers = [];
    for (const [revision, id] of ids.entries()) {
      await store.appendDeployment({ revision: revision + 1, action: "activate", modelId: id, state: { ...initialDeployment(id) }, actor: "t", at: 0 });
      scorers.push((await provider.select("v")).serving);
      expect(runtime.loaded().length).toBeLessThanOrEqual(4);
    }
    expect(runtime.loaded()).toEqual(ids.slice(2));
    await expect(scorers[0]!.score(new Float32Array([1]), 1)).rejects.toThrow(/unloaded/);
    expect((await scorers[5]!.score(new Float32Array([0]), 1))[0]).toBeCloseTo(0.5, 5);
  });
});

describe("loads shared by an isolate's requests", () => {
  async function oneModel(name: string) {
    const store = memoryModelRegistry();
    const bytes = linearModel(["block_priority"], [1], 0, name);
    const id = await sha256Hex(bytes);
    await store.files.put(id, bytes, name);
    await store.appendDeployment({ revision: 1, action: "activate", modelId: id, state: { ...initialDeployment(id) }, actor: "t", at: 0 });
    return { store, id };
  }

  it("keeps the request that starts a load alive until it is done (once per load, not on a hit)", async () => {
    const { store } = await oneModel("keep-alive");
    const runtime = createModelRuntime({ ttlMs: 60_000 });
    const kept: Promise<unknown>[] = [];
    const provider = runtime.provider({ registry: store, files: store.files, keepAlive: (work) => kept.push(work) });
    await provider.select("v");
    // The deployment read and the model's load.
    expect(kept).toHaveLength(2);
    await Promise.all(kept);
    await provider.select("v");
    expect(kept).toHaveLength(2);
  });

  it("starts again a load still pending after STALE_LOAD_MS (its request ended: workerd never settles it for others)", async () => {
    const { store, id } = await oneModel("stale-load");
    let t = 5_000_000;
    const runtime = createModelRuntime({ ttlMs: 10 * STALE_LOAD_MS, now: () => t });
    let reads = 0;
    // The first read of the file never answers, as a read whose request was cancelled.
    const files = { get: (key: string) => (++reads === 1 ? new Promise<never>(() => {}) : store.files.get(key)) };
    const provider = runtime.provider({ registry: store, files });
    const first = provider.select("v");
    // Once its load has asked for the file (however long the registry read before it takes).
    await expect.poll(() => reads, { timeout: 10_000, interval: 10 }).toBe(1);
    t += STALE_LOAD_MS - 1;
    const second = Promise.race([provider.select("v"), new Promise((r) => setTimeout(() => r("still waiting"), 200))]);
    expect(await second).toBe("still waiting");
    expect(reads).toBe(1);
    t += 1;
    const third = await provider.select("v");
    expect(reads).toBe(2);
    expect(third.serving.version).toContain("stale-load");
    expect(runtime.loaded()).toEqual([id]);
    void first;
  });
});

describe("deployment changes", () => {
  const D = "d".repeat(64);
  const [A, B, C, E] = ["a", "b", "c", "e"].map((x) => x.repeat(64)) as [string, string, string, string];
  const base: DeploymentState = { champion: A, history: [D], challenger: { id: B, percent: 20 }, shadows: [C] };

  it.each<{ name: string; action: DeploymentAction; want: Partial<DeploymentState> | "conflict" | "unchanged" }>([
    { name: "activate a new model", action: { type: "activate", id: E }, want: { champion: E, history: [D, A], challenger: base.challenger, shadows: [C] } },
    { name: "activate the champion", action: { type: "activate", id: A }, want: "unchanged" },
    { name: "activate the challenger", action: { type: "activate", id: B }, want: { champion: B, history: [D, A], challenger: null } },
    { name: "activate a shadow", action: { type: "activate", id: C }, want: { champion: C, shadows: [] } },
    { name: "roll back", action: { type: "rollback" }, want: { champion: D, history: [], challenger: base.challenger } },
    { name: "challenger: the champion", action: { type: "challenger", id: A, percent: 5 }, want: "conflict" },
    { name: "challenger: a new one replaces the old", action: { type: "challenger", id: E, percent: 5 }, want: { challenger: { id: E, percent: 5 } } },
    { name: "challenger: a shadow moves", action: { type: "challenger", id: C, percent: 5 }, want: { challenger: { id: C, percent: 5 }, shadows: [] } },
    { name: "challenger: 0% of another model", action: { type: "challenger", id: E, percent: 0 }, want: "unchanged" },
    { name: "challenger: 0% removes it", action: { type: "challenger", id: B, percent: 0 }, want: { challenger: null } },
    { name: "shadow: the champion", action: { type: "shadow_add", id: A }, want: "conflict" },
    { name: "shadow: the challenger", action: { type: "shadow_add", id: B }, want: "conflict" },
    { name: "shadow: a second one", action: { type: "shadow_add", id: E }, want: { shadows: [C, E] } },
    { name: "shadow: removed", action: { type: "shadow_remove", id: C }, want: { shadows: [] } },
  ])("$name", ({ action, want }) => {
    if (want === "conflict") {
      expect(() => applyAction(base, action)).toThrow(AppError);
      return;
    }
    const next = applyAction(base, action);
    if (want === "unchanged") expect(next).toBe(base);
    else expect(next).toMatchObject(want);
  });

  it("refuses rollback without history, and remembers at most 20 champions", () => {
    expect(() => applyAction(initialDeployment(D), { type: "rollback" })).toThrow(/no previous champion/);
    let s = initialDeployment(D);
    for (let i = 0; i < 30; i++) s = applyAction(s, { type: "activate", id: i.toString(16).padStart(64, "0") });
    expect(s.history).toHaveLength(MAX_ROLLBACK_HISTORY);
  });
});
