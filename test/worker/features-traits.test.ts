// Declared features read from the identified customer's traits: sources `profile.<trait>` and
// `account.<trait>` (worker/ranking/declared.ts), served, logged in the audit and exported with
// the same values.
import { env } from "cloudflare:workers";
import { SignJWT } from "jose";
import { afterEach, describe, expect, it } from "vitest";
import type { Block } from "../../worker/catalog/schema.ts";
import type { Profile } from "../../worker/identity/schema.ts";
import { isolateModelRuntime } from "../../worker/models/runtime.ts";
import { declarationsSchema, readsTraits, type Declarations } from "../../worker/ranking/declared.ts";
import { buildFeatureMatrix } from "../../worker/ranking/features.ts";
import { call, postDecide } from "./helpers.ts";
import { matmulModel } from "./models-fixtures.ts";
import { adminOk, AUTH, treatedVisitors, uploadOk } from "./models-helpers.ts";

afterEach(async () => {
  await env.DB.prepare("DELETE FROM model_deployments").run();
  isolateModelRuntime.invalidate();
});

const block = (id: string, tier: string): Block => ({ id, slots: ["hero"], category: "shoes", tags: [], campaign: "c", priority: 1, value: 1, html: "", attributes: { tier } });
const DECLARATIONS: Declarations = declarationsSchema.parse({
  employees_log: { kind: "signal", signal: "account.employees", default: 0, transforms: [{ op: "log1p" }] },
  ltv: { kind: "signal", signal: "profile.lifetimeValue", default: -1 },
  plan: { kind: "one_hot", signal: "profile.plan", vocabulary: ["free", "pro"] },
  vip: { kind: "one_hot", signal: "profile.segments", vocabulary: ["vip"] },
  same_tier: { kind: "block_match", signal: "account.tier", attribute: "attributes.tier" },
});
const FEATURES = ["employees_log", "ltv", "plan=free", "plan=pro", "vip=vip", "same_tier"];
const SPEC = { features: FEATURES, declarations: DECLARATIONS };
const TRAITS: Profile = { profile: { plan: "pro", lifetimeValue: 1200, segments: ["vip", "beta"] }, account: { tier: "gold", employees: 1200 } };

describe("trait sources: grammar and values", () => {
  it.each([
    { signal: "profile.plan", ok: true },
    { signal: "account.employees", ok: true },
    { signal: "profile.email", ok: false },
    { signal: "account.owner", ok: false },
    { signal: "cartValue", ok: true },
  ])("source $signal → valid $ok", ({ signal, ok }) => {
    expect(declarationsSchema.safeParse({ x: { kind: "signal", signal } }).success).toBe(ok);
  });

  it("computes numeric and categorical traits; anonymous visitors get the defaults; page signals cannot forge them", () => {
    const blocks = [block("gold-offer", "gold"), block("silver-offer", "silver")];
    const known = Array.from(buildFeatureMatrix(SPEC, {}, blocks, 0, TRAITS));
    // log1p(1200), 1200, plan one-hot, segments hold "vip", tier matches the first block only.
    expect(known[0]).toBeCloseTo(Math.log1p(1200), 4);
    expect(known.slice(1, 6)).toEqual([1200, 0, 1, 1, 1]);
    expect(known.slice(6)).toEqual([known[0], 1200, 0, 1, 1, 0]);
    const forged = { "profile.plan": "pro", profile: "x", "account.employees": 5, "profile.lifetimeValue": 9 } as Record<string, unknown>;
    expect(Array.from(buildFeatureMatrix(SPEC, forged, blocks.slice(0, 1), 0))).toEqual([0, -1, 0, 0, 0, 0]);
    expect(readsTraits(DECLARATIONS)).toBe(true);
    expect(readsTraits(declarationsSchema.parse({ c: { kind: "signal", signal: "cartValue" } }))).toBe(false);
  });
});

interface Row {
  featureNames: string[];
  features: number[][];
  candidates: string[];
  decisionId: string;
}

async function auditRows(visitorId: string): Promise<Row[]> {
  for (let i = 0; i < 600; i++) {
    const body = await (await call(`/admin/decisions?visitor=${visitorId}`, { headers: AUTH })).json<{ decisions: Row[] }>();
    if (body.decisions.length >= 1) return body.decisions;
    await new Promise((r) => setTimeout(r, 100));
  }
  return [];
}

describe("served trait features are what the audit log and the export record", () => {
  it("an identified customer's traits feed the model; the audit row and the export carry the values", async () => {
    const features = ["employees_log", "plan=pro", "same_tier", "block_promo"];
    const declarations = declarationsSchema.parse({ employees_log: DECLARATIONS.employees_log, plan: DECLARATIONS.plan, same_tier: DECLARATIONS.same_tier });
    const { id } = await uploadOk(matmulModel({ manifest: { version: 1, name: "trait-served", output: "probability", features, declarations }, width: 4, weights: [0.1, 0.2, 0.3, -1] }));
    await adminOk(`/${id}/activate`, "POST", {});
    const [visitorId, anonymous] = treatedVisitors("trait-audit", 2);
    const token = await new SignJWT({ traits: { plan: "pro" }, accountId: "trait-acme", accountTraits: { employees: 99, tier: "gold" } })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("trait-customer")
      .setJti(`trait-jti-${Date.now()}`)
      .setExpirationTime("10m")
      .sign(new TextEncoder().encode("test-identify-secret-0123456789abcdef"));
    expect((await call("/v1/identify", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ visitorId, consent: { personalization: true }, token }) })).status).toBe(200);
    const t0 = Date.now();
    for (const v of [visitorId!, anonymous!]) {
      const res = await postDecide({ visitorId: v, slots: ["hero"], consent: { personalization: true, analytics: true }, context: { signals: { pageCategory: "shoes" } } });
      expect(res.status).toBe(200);
    }
    const [row] = await auditRows(visitorId!);
    expect(row!.featureNames).toEqual(features);
    // Logged as the shortest decimal of the float32 the model saw (worker/audit/float32.ts).
    for (const f of row!.features) expect(f.slice(0, 2)).toEqual([4.6051702, 1]);
    expect(Math.fround(4.6051702)).toBe(Math.fround(Math.log1p(99)));
    const [anon] = await auditRows(anonymous!);
    for (const f of anon!.features) expect(f.slice(0, 3)).toEqual([0, 0, 0]);

    const exported = await call(`/admin/export?from=${t0 - 1}&to=${Date.now() + 1}&model=${id}`, { headers: AUTH });
    const lines = (await exported.text()).split("\n").filter(Boolean).map((l) => JSON.parse(l) as { decisionId: string; candidates: Array<{ features: number[] }> });
    const line = lines.find((l) => l.decisionId === row!.decisionId)!;
    expect(line.candidates.map((c) => c.features)).toEqual(row!.features);
  });
});
