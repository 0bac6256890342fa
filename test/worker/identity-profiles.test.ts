// Profile and account traits (worker/identity/): from identify and POST /admin/profiles, read by
// guardrail conditions as `profile` and `account`; erasure and consent follow identity.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { createApp } from "../../worker/app.ts";
import { staticCatalogStore } from "../../worker/catalog/store.ts";
import { decide, type DecideDeps } from "../../worker/decide/decide.ts";
import { decideRequestSchema } from "../../worker/decide/schema.ts";
import { guardrailConfigSchema } from "../../worker/guardrails/config.ts";
import { customerKey, customerObject, type IdentityEnv } from "../../worker/identity/keys.ts";
import type { Profile } from "../../worker/identity/schema.ts";
import { linearScorer } from "../../worker/ranking/scorer.ts";
import { memoryVisitorState } from "../../worker/visitor/memory.ts";
import { visitorKey } from "../../worker/visitor/key.ts";
import { ADMIN, auditRecord, insertEvent, writeAudit } from "./audit-fixtures.ts";
import { call } from "./helpers.ts";

/** IDENTIFY_SECRET of the Worker tests (vitest.config.ts). */
const SECRET = new TextEncoder().encode("test-identify-secret-0123456789abcdef");
let jti = 0;
const token = (claims: Record<string, unknown>) =>
  new SignJWT(claims).setProtectedHeader({ alg: "HS256" }).setSubject(String(claims.sub)).setJti(`profiles-jti-${Date.now()}-${++jti}`).setExpirationTime("10m").sign(SECRET);
const identify = async (visitorId: string, claims: Record<string, unknown>) =>
  call("/v1/identify", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ visitorId, consent: { personalization: true }, token: await token(claims) }) });
const profiles = (ndjson: string) => call("/admin/profiles", { method: "POST", headers: { ...ADMIN, "content-type": "application/x-ndjson" }, body: ndjson });
const object = (name: string) => env.VISITOR.get(env.VISITOR.idFromName(name));
const visitor = async (id: string) => object(await visitorKey(id));
const customer = async (id: string) => object(customerObject(await customerKey(env as IdentityEnv, id)));

describe("traits", () => {
  it("identify stores the token's traits and account; a linked visitor's decides see them", async () => {
    const res = await identify("traits-device-1", { sub: "cust-traits", traits: { plan: "pro", lifecycleStage: "customer", lifetimeValue: 1200 }, accountId: "acme", accountTraits: { tier: "enterprise", employees: 1200 } });
    expect(await res.json()).toMatchObject({ linked: true, profile: { plan: "pro", lifecycleStage: "customer", lifetimeValue: 1200 } });
    expect(await (await visitor("traits-device-1")).profile()).toEqual({ profile: { plan: "pro", lifecycleStage: "customer", lifetimeValue: 1200 }, account: { tier: "enterprise", employees: 1200 } });
    expect(await (await visitor("anonymous-device-1")).profile()).toEqual({ profile: {}, account: {} });
  });

  it("POST /admin/profiles: NDJSON, idempotent, per-line errors", async () => {
    const body = [
      JSON.stringify({ customerId: "crm-1", traits: { tier: "gold", lifetimeValue: 50 }, accountId: "globex" }),
      "{not json",
      JSON.stringify({ customerId: "crm-2", traits: { email: "x@y.z" } }), // not a consent-safe field
      JSON.stringify({ accountId: "globex", accountTraits: { plan: "enterprise" } }),
      "",
    ].join("\n");
    for (let i = 0; i < 2; i++) {
      const res = await profiles(body);
      expect(res.status).toBe(200);
      const answer = (await res.json()) as { accepted: number; rejected: Array<{ line: number; error: { code: string } }> };
      expect(answer.accepted).toBe(2);
      expect(answer.rejected.map((r) => [r.line, r.error.code])).toEqual([[2, "invalid_json"], [3, "invalid_request"]]);
    }
    // The CRM's customer logs in later: the visitor sees the uploaded traits and account.
    await identify("crm-device-1", { sub: "crm-1" });
    expect(await (await visitor("crm-device-1")).profile()).toEqual({ profile: { tier: "gold", lifetimeValue: 50 }, account: { plan: "enterprise" } });
    expect((await call("/admin/profiles", { method: "POST", headers: { ...ADMIN, "content-type": "text/plain" }, body: "{}" })).status).toBe(415);
    expect((await call("/admin/profiles", { method: "POST", headers: { "content-type": "application/x-ndjson" }, body: "" })).status).toBe(401);
  });

  it("POST /admin/profiles names the field of a bad line, and counts what each line set", async () => {
    const body = [
      JSON.stringify({ customerId: "crm-lines-1", accountTraits: { tier: "gold" } }), // account traits without the account
      JSON.stringify({ accountId: "x" }),
      JSON.stringify({ customerId: 5 }),
      JSON.stringify({ customerId: "crm-lines-2", traits: { plan: 123 } }),
      JSON.stringify({ customerId: "crm-lines-3", accountId: "crm-lines-acme", accountTraits: { plan: "pro" } }),
      JSON.stringify({ accountId: "crm-lines-acme", accountTraits: { tier: "gold" } }),
    ].join("\n");
    const answer = (await (await profiles(body)).json()) as { accepted: number; customers: number; accounts: number; rejected: Array<{ line: number; error: { message: string } }> };
    expect(answer.rejected.map((r) => [r.line, r.error.message.split(":")[0]])).toEqual([[1, "accountTraits"], [2, "accountTraits"], [3, "customerId"], [4, "traits.plan"]]);
    expect(answer).toMatchObject({ accepted: 2, customers: 1, accounts: 2 });
  });

  it("POST /admin/profiles takes at most 500 lines (blank ones not counted) and applies a full upload in order", { timeout: 300_000 }, async () => {
    const lines = (n: number) => Array.from({ length: n }, () => "{}").join("\n");
    for (const body of [lines(501), `${lines(501)}\n`, `\n${lines(501)}\n\n`]) {
      const res = await profiles(body);
      expect(res.status).toBe(413);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("payload_too_large");
    }
    // A full upload of valid lines is applied in file order: 500 lines over 20 customers (25
    // each; the last line of a customer wins), with blank lines around that do not count.
    // Distinct customers were checked by hand on `wrangler dev`; here each new object costs much
    // more under the test pool.
    const full = Array.from({ length: 500 }, (_, i) => JSON.stringify({ customerId: `crm-full-${i % 20}`, traits: { plan: `p${i}` } })).join("\n");
    const res = await profiles(`\n${full}\n\n\n`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ accepted: 500, customers: 500, accounts: 0, rejected: [] });
    const stub = async (id: string) => env.VISITOR.get(env.VISITOR.idFromName(customerObject(await customerKey(env as unknown as IdentityEnv, id))));
    expect((await (await stub("crm-full-19")).profile()).profile).toMatchObject({ plan: "p499" });
    expect((await (await stub("crm-full-0")).profile()).profile).toMatchObject({ plan: "p480" });
  });

  it("POST /admin/profiles lists a valid line whose write failed as not_stored and applies the others", async () => {
    // The second Durable Object the upload reaches fails, as an unavailable object would.
    let gets = 0;
    const VISITOR = new Proxy(env.VISITOR, {
      get(target, prop) {
        if (prop === "get") return (id: DurableObjectId) => (++gets === 2 ? { setProfile: () => Promise.reject(new Error("object unavailable")) } : target.get(id));
        const value = Reflect.get(target, prop);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const body = ["a", "b", "c"].map((x) => JSON.stringify({ customerId: `crm-fail-${x}`, traits: { plan: "pro" } })).join("\n");
    const ctx = createExecutionContext();
    const res = await createApp().fetch(new Request("http://nextbest.test/admin/profiles", { method: "POST", headers: { ...ADMIN, "content-type": "application/x-ndjson" }, body }), { ...env, VISITOR }, ctx);
    await waitOnExecutionContext(ctx);
    expect(res.status).toBe(200);
    const answer = (await res.json()) as { accepted: number; customers: number; rejected: Array<{ line: number; error: { code: string } }> };
    expect(answer).toMatchObject({ accepted: 2, customers: 2 });
    expect(answer.rejected.map((r) => [r.line, r.error.code])).toEqual([[2, "not_stored"]]);
  });

  it.each([
    { profile: { plan: "pro" }, account: {}, shown: true },
    { profile: { plan: "free" }, account: {}, shown: false },
    { profile: {}, account: { tier: "enterprise" }, shown: true },
  ])("guardrail conditions read profile and account: $profile $account → shown $shown", async ({ profile, account, shown }) => {
    const base = await staticCatalogStore().get();
    const catalog = structuredClone(base);
    const block = catalog.blocks.find((b) => b.id === "hero-jackets-rain")!;
    block.rules = { ...block.rules, condition: { or: [{ "==": [{ var: "profile.plan" }, "pro"] }, { "==": [{ var: "account.tier" }, "enterprise"] }] } };
    const asked: string[] = [];
    const deps: DecideDeps = {
      catalog,
      guardrails: guardrailConfigSchema.parse({}),
      models: async () => ({ serving: linearScorer({ version: 1, name: "unit", features: ["page_category_match", "block_default"], output: "score" }, [5, -1]), arm: "champion", shadows: [] }),
      visitorState: memoryVisitorState().client,
      profile: async (id): Promise<Profile> => (asked.push(id), { profile, account }),
      newId: () => "d-1",
      now: () => Date.parse("2026-11-25T12:00:00Z"),
      holdout: { rate: 0, salt: "unit" },
      epsilon: 0,
    };
    const request = decideRequestSchema.parse({ visitorId: "cond-visitor", slots: ["hero"], consent: { personalization: true }, context: { signals: { pageCategory: "jackets" } } });
    const { decisions } = await decide(request, deps);
    expect(decisions[0]!.block.id === "hero-jackets-rain").toBe(shown);
    expect(asked).toEqual(["cond-visitor"]);
    // Without a condition on traits, no profile is asked for (no extra call on the hot path).
    asked.length = 0;
    await decide(request, { ...deps, catalog: base });
    expect(asked).toEqual([]);
  });
});

describe("erasure and consent follow identity", () => {
  async function customerWithTwoDevices(prefix: string) {
    const [a, b] = [`${prefix}-laptop`, `${prefix}-phone`];
    for (const id of [a, b]) {
      await writeAudit([await auditRecord({ visitorId: id })]);
      await insertEvent({ time: 1_768_000_000_000, type: "click", visitorId: id });
      await (await visitor(id)).markConverted("spring-shoes", 1); // anonymous state, merged at identify
      expect((await identify(id, { sub: `${prefix}-customer`, traits: { plan: "pro" } })).status).toBe(200);
    }
    return [a, b] as const;
  }
  const rows = async (table: "events" | "decisions" | "lake_erasures", id: string) =>
    (await env.DB.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE visitor_key = ?`).bind(await visitorKey(id)).first<number>("n"))!;

  it.each(["customers", "visitors"])("DELETE /admin/%s/:id removes everything linked, store by store", async (route) => {
    const [a, b] = await customerWithTwoDevices(`erase-${route}`);
    await writeAudit([await auditRecord({ visitorId: `erase-bystander-${route}` })]);
    const target = route === "customers" ? `erase-${route}-customer` : b;
    const res = await call(`/admin/${route}/${encodeURIComponent(target)}`, { method: "DELETE", headers: ADMIN });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { visitors?: string[]; removed: Record<string, number>; customer?: { visitors: string[]; removed: Record<string, number> } };
    expect((body.visitors ?? body.customer!.visitors).sort()).toEqual([await visitorKey(a), await visitorKey(b)].sort());
    // True counts, store by store: each device had 1 event and 1 audit row; the anonymous
    // conversion (one campaign, both devices) moved into the customer's object at identify.
    const customerPart = route === "customers" ? (body as unknown as { removed: Record<string, number> }) : body.customer!;
    const devices = route === "customers" ? 2 : 1; // the visitor route erased b itself first
    expect(customerPart.removed).toEqual({ events: devices, decisions: devices, visitorState: 0, customerState: 1, profile: 1, links: 2, activation: 0 });
    expect(customerPart).toMatchObject({ complete: true, notRemoved: [], lake: { status: "queued", visitors: 2 } });
    if (route === "visitors") expect(body.removed).toMatchObject({ events: 1, decisions: 1, visitorState: 0 });
    // Again: nothing left, nothing counted twice.
    const again = (await (await call(`/admin/customers/${encodeURIComponent(`erase-${route}-customer`)}`, { method: "DELETE", headers: ADMIN })).json()) as Record<string, unknown>;
    expect(again).toMatchObject({ visitors: [], removed: { events: 0, decisions: 0, visitorState: 0, customerState: 0, profile: 0, links: 0, activation: 0 }, lake: { status: "nothing_to_erase", visitors: 0 } });
    for (const id of [a, b]) {
      expect(await rows("events", id)).toBe(0); // D1 events
      expect(await rows("decisions", id)).toBe(0); // D1 audit rows
      expect(await rows("lake_erasures", id)).toBe(2); // lake rows: queued for the cron's rewrite pass
      expect(await (await visitor(id)).exposureCount()).toBe(0); // the device's object
      expect(await (await visitor(id)).linkedCustomer()).toBeNull();
    }
    const c = await customer(`erase-${route}-customer`);
    expect(await c.linkedVisitors()).toEqual([]); // the customer's object: links,
    expect(await c.profile()).toEqual({ profile: {}, account: {} }); // traits,
    expect(await c.campaignOfDecision("any")).toBeNull();
    expect(await rows("decisions", `erase-bystander-${route}`)).toBe(1); // others keep theirs
  });

  it("withdrawing personalisation on one device applies to the customer on every device", async () => {
    const [a, b] = await customerWithTwoDevices("withdraw");
    const res = await call("/v1/consent", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ visitorId: a, consent: { personalization: false, analytics: true } }) });
    expect(res.status).toBe(202);
    for (const id of [a, b]) expect(await rows("decisions", id)).toBe(0);
    expect(await (await customer("withdraw-customer")).profile()).toEqual({ profile: {}, account: {} });
    // The other device, still consenting locally, gets defaults and records nothing.
    const option = { blockId: "x", campaign: "c", tags: [], caps: [], rank: 1, personalized: true };
    const [pick] = await (await visitor(b)).select({ slots: [{ slot: "hero", decisionId: "w-1", options: [option] }], epsilon: 0, globalCaps: [], campaignCaps: {}, maxPromotionalPerPage: 1, promotionalTag: "promo", oneBlockPerCampaign: false, excludeConverted: true }, { now: Date.now(), sessionTimeoutMs: 60_000 });
    expect(pick!.pick).toBeUndefined();
    expect(await (await customer("withdraw-customer")).exposureCount()).toBe(0);
  });
});
