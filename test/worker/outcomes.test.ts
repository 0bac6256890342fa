import { env } from "cloudflare:workers";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import churnModel from "../../models/churn-demo.onnx";
import { builtinId } from "../../worker/models/builtin.ts";
import { isolateModelRuntime } from "../../worker/models/runtime.ts";
import { call, postDecide } from "./helpers.ts";
import { adminCall, adminOk, AUTH, treatedVisitors, uploadOk } from "./models-helpers.ts";

const NOW = Date.now();
const DAY = 86_400_000;
const putGuardrails = (config: unknown) =>
  call("/admin/guardrails", { method: "PUT", headers: { "content-type": "application/json", ...AUTH }, body: JSON.stringify(config) });

/** The demo's arbitration: retention offers weigh the churn propensity (×2), every other block its clicks. */
const DEMO_ARBITRATION = { combine: "sum", weights: { click: 1, churn: 0 }, byTag: { retention: { click: 0, churn: 1 } }, levers: { tags: { retention: 2 } } };

afterEach(async () => {
  await env.DB.prepare("DELETE FROM model_deployments").run();
  isolateModelRuntime.invalidate();
});
afterAll(async () => {
  await putGuardrails({});
});

interface Candidate {
  blockId: string;
  rank?: number;
  excluded?: unknown;
  arbitration?: { formula: string; propensities: Record<string, number>; weights: Record<string, number>; value: number; contextWeight: number; lever: number; priority: number };
}
interface DebugDecide {
  decisions: Array<{ decisionId: string; block: { id: string }; modelVersion: string | null }>;
  debug: { slots: Record<string, Candidate[]> };
}

/** Decides with `debug: true` and `record: true` (a debug decide is audited only when asked). */
async function decideDebug(visitorId: string, signals: Record<string, unknown>): Promise<DebugDecide> {
  const res = await postDecide({ visitorId, slots: ["hero"], consent: { personalization: true, analytics: true }, context: { signals: { pageCategory: "shoes", ...signals } }, debug: true, record: true }, AUTH);
  if (res.status !== 200) throw new Error(`decide answered ${res.status}: ${await res.text()}`);
  return res.json();
}

async function auditRow(visitorId: string): Promise<{ candidates: string[]; scores: number[]; arbitration?: { formula: string; outcomes: Array<{ outcome: string; modelVersion: string }>; factors: Array<{ propensities: Record<string, number>; priority: number }> } }> {
  for (let i = 0; i < 600; i++) {
    const body = await (await call(`/admin/decisions?visitor=${visitorId}`, { headers: AUTH })).json<{ decisions: Array<never> }>();
    if (body.decisions.length) return body.decisions[0]!;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("no audit row");
}

describe("several outcomes: a churn model beside the click champion", () => {
  it("serves in the churn deployment, arbitrates with its propensity, logs every factor, and rolls back to none", async () => {
    const { id, version } = await uploadOk(new Uint8Array(churnModel));
    const listed = await adminOk<{ outcome: string }>(`/${id}`);
    expect(listed.outcome).toBe("churn");
    const activated = await adminOk<{ deployment: { champion: { id: string }; outcomes: Record<string, { champion: { id: string; version: string } | null }> } }>(`/${id}/activate`, "POST", {});
    // The click champion is untouched; churn has its own champion.
    expect(activated.deployment.champion.id).toBe(await builtinId());
    expect(activated.deployment.outcomes.churn!.champion).toEqual({ id, version });
    expect((await putGuardrails({ arbitration: DEMO_ARBITRATION })).status).toBe(200);

    const [churner, loyal, later] = treatedVisitors("outcomes", 3);
    const high = await decideDebug(churner!, { lastOrderAt: NOW - 200 * DAY, ordersCount: 1 });
    const hero = high.debug.slots.hero!.filter((c) => c.rank !== undefined && !c.excluded);
    const winback = hero.find((c) => c.blockId === "hero-winback-offer")!;
    expect(winback.arbitration!.propensities.churn).toBeGreaterThan(0.9);
    expect(winback.arbitration!.formula).toBe("priority = (Σ_o w_o·p_o) × value × contextWeight × lever");
    expect(winback.arbitration).toMatchObject({ weights: { click: 0, churn: 1 }, value: 20, contextWeight: 1, lever: 2 });
    expect(high.decisions[0]!.block.id).toBe("hero-winback-offer");
    expect(Math.max(...hero.map((c) => c.rank!))).toBe(winback.rank);

    const low = await decideDebug(loyal!, { lastOrderAt: NOW - 2 * DAY, ordersCount: 8 });
    expect(low.decisions[0]!.block.id).not.toBe("hero-winback-offer");
    expect(low.debug.slots.hero!.find((c) => c.blockId === "hero-winback-offer")!.arbitration!.propensities.churn).toBeLessThan(0.05);

    const row = await auditRow(churner!);
    expect(row.arbitration!.outcomes).toEqual([{ outcome: "churn", modelVersion: version }]);
    expect(row.arbitration!.factors).toHaveLength(row.candidates.length);
    const i = row.candidates.indexOf("hero-winback-offer");
    expect(row.arbitration!.factors[i]!.priority).toBeCloseTo(winback.arbitration!.priority, 9);
    // Propensities are float32 model outputs, logged in their shortest form like the scores: the
    // click propensity is the record's score, each reads back as the float32 decide used.
    row.arbitration!.factors.forEach((f, k) => expect(f.propensities.click).toBe(row.scores[k]));
    const logged = row.arbitration!.factors[i]!.propensities.churn!;
    expect(Math.fround(logged)).toBe(winback.arbitration!.propensities.churn);
    expect(String(logged).replace(/^0\.|e.*$/g, "").length).toBeLessThanOrEqual(9);

    // Rolling back the first churn champion switches the outcome off.
    const rolled = await (await adminCall("/rollback?outcome=churn", "POST")).json<{ deployment: { outcomes: Record<string, { champion: unknown }> } }>();
    expect(rolled.deployment.outcomes.churn!.champion).toBeNull();
    const after = await decideDebug(later!, { lastOrderAt: NOW - 200 * DAY, ordersCount: 1 });
    expect(Object.keys(after.debug.slots.hero!.find((c) => c.blockId === "hero-winback-offer")!.arbitration!.propensities)).toEqual(["click"]);
  });

  it("refuses a challenger for an outcome without a champion", async () => {
    const { id } = await uploadOk(new Uint8Array(churnModel));
    const res = await adminCall(`/${id}/challenger`, "POST", { percent: 10 });
    expect(res.status).toBe(409);
    expect((await res.json<{ error: { message: string } }>()).error.message).toMatch(/no champion for outcome "churn"/);
  });
});
