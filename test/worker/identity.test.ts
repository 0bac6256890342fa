// Identity (worker/identity/): signed identify, one customer object across devices (caps,
// sessions, conversions), merge once under concurrency, traits, erasure by customer.
import { env } from "cloudflare:workers";
import { SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import type { RankedOption, SelectionInput } from "../../worker/decide/select.ts";
import { customerKey, customerObject, type IdentityEnv } from "../../worker/identity/keys.ts";
import { visitorKey } from "../../worker/visitor/key.ts";
import { ADMIN, auditRecord, insertEvent, writeAudit } from "./audit-fixtures.ts";
import { call } from "./helpers.ts";

const MIN = 60_000;
/** IDENTIFY_SECRET of the Worker tests (vitest.config.ts; workerd cannot import that file). */
const TEST_IDENTIFY_SECRET = "test-identify-secret-0123456789abcdef";
let jti = 0;

/** An identify token as the site's backend signs it. */
async function token(claims: Record<string, unknown>, { secret = TEST_IDENTIFY_SECRET, expiresIn = "10m" as string | number, id = `test-jti-${Date.now()}-${++jti}` } = {}): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: "HS256" }).setSubject(String(claims.sub)).setJti(id).setIssuedAt().setExpirationTime(expiresIn).sign(new TextEncoder().encode(secret));
}

const identify = (body: Record<string, unknown>) =>
  call("/v1/identify", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ consent: { personalization: true, analytics: true }, ...body }) });

const signedIdentify = async (visitorId: string, customerId: string, claims: Record<string, unknown> = {}) => identify({ visitorId, token: await token({ sub: customerId, ...claims }) });

const visitor = async (id: string) => env.VISITOR.get(env.VISITOR.idFromName(await visitorKey(id)));
const customer = async (id: string) => env.VISITOR.get(env.VISITOR.idFromName(customerObject(await customerKey(env as IdentityEnv, id))));

/** One slot, one block capped at 3 a week. */
const capped: RankedOption = { blockId: "sales-assist", campaign: "assist", tags: [], caps: [{ limit: 3, window: "week" }], rank: 1, personalized: true };
const selection = (decisionId: string): SelectionInput => ({ slots: [{ slot: "hero", decisionId, options: [capped] }], epsilon: 0, globalCaps: [], campaignCaps: {}, maxPromotionalPerPage: 10, promotionalTag: "promo", oneBlockPerCampaign: false, excludeConverted: true });

describe("POST /v1/identify: signed tokens", () => {
  const now = Math.floor(Date.now() / 1000);
  it.each([
    { name: "valid", make: () => token({ sub: "cust-valid" }), status: 200, code: undefined },
    { name: "expired", make: () => token({ sub: "cust-expired" }, { expiresIn: now - 60 }), status: 401, code: "unauthorized" },
    { name: "wrong key", make: () => token({ sub: "cust-wrongkey" }, { secret: "not-the-shared-secret-0123456789" }), status: 401, code: "unauthorized" },
    { name: "living too long", make: () => token({ sub: "cust-long" }, { expiresIn: "2h" }), status: 401, code: "unauthorized" },
    { name: "not a JWT", make: async () => "not.a.token", status: 401, code: "unauthorized" },
    { name: "alg none", make: async () => `${btoa(JSON.stringify({ alg: "none" }))}.${btoa(JSON.stringify({ sub: "x", exp: now + 60, jti: "none-alg-1" }))}.`, status: 401, code: "unauthorized" },
  ])("$name → $status", async ({ make, status, code }) => {
    const res = await identify({ visitorId: `tok-visitor-${jti}`, token: await make() });
    expect(res.status).toBe(status);
    const body = (await res.json()) as { linked?: boolean; error?: { code: string } };
    if (code) expect(body.error?.code).toBe(code);
    else expect(body.linked).toBe(true);
  });

  it("a replayed token is refused (its jti is used once)", async () => {
    const t = await token({ sub: "cust-replay" });
    expect((await identify({ visitorId: "replay-1", token: t })).status).toBe(200);
    const again = await identify({ visitorId: "replay-2", token: t });
    expect(again.status).toBe(409);
    expect(await again.json()).toMatchObject({ error: { code: "conflict" } });
  });

  it("a token bound to another visitor (vid), or a customerId that is not its subject, is refused", async () => {
    expect((await identify({ visitorId: "vid-a", token: await token({ sub: "cust-vid", vid: "vid-b" }) })).status).toBe(401);
    expect((await identify({ visitorId: "vid-a", customerId: "someone-else", token: await token({ sub: "cust-vid" }) })).status).toBe(401);
  });

  it("unsigned identify is off by default; traits outside the consent-safe list are refused", async () => {
    const unsigned = await identify({ visitorId: "unsigned-1", customerId: "cust-unsigned" });
    expect(unsigned.status).toBe(401);
    expect(await unsigned.json()).toMatchObject({ error: { code: "unauthorized", message: expect.stringContaining("IDENTIFY_UNSIGNED") } });
    const pii = await identify({ visitorId: "pii-1", token: await token({ sub: "cust-pii", traits: { email: "a@b.c" } }) });
    expect(pii.status).toBe(400);
  });

  it("without personalisation consent nothing is linked, and the token is not used up", async () => {
    const t = await token({ sub: "cust-noconsent" });
    const res = await call("/v1/identify", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ visitorId: "noconsent-1", token: t }) });
    expect(await res.json()).toEqual({ linked: false, reason: "no_consent" });
    expect(await (await visitor("noconsent-1")).linkedCustomer()).toBeNull();
    // The visitor consents: the same token links.
    expect((await identify({ visitorId: "noconsent-1", token: t })).status).toBe(200);
  });

  it("never stores the customer id: objects know its HMAC key", async () => {
    const res = await signedIdentify("raw-1", "alice@example.com");
    const body = (await res.json()) as { customerKey: string };
    expect(body.customerKey).toMatch(/^[0-9a-f]{32}$/);
    expect(JSON.stringify(body)).not.toContain("alice");
    expect(await (await visitor("raw-1")).linkedCustomer()).toBe(`customer:${body.customerKey}`);
  });
});

describe("one customer across devices", () => {
  it("two devices, cap 3 a week: 3 in all; conversions and sessions are shared", async () => {
    const t = Date.now();
    const a = await visitor("laptop-1");
    // Anonymous history on the laptop, merged at identify.
    expect((await a.select(selection("d-a0"), { now: t, sessionTimeoutMs: 30 * MIN }))[0]!.pick?.blockId).toBe("sales-assist");
    expect((await signedIdentify("laptop-1", "cust-two-devices")).status).toBe(200);
    expect((await signedIdentify("phone-1", "cust-two-devices")).status).toBe(200);
    const b = await visitor("phone-1");
    const served: string[] = [];
    for (let i = 1; i <= 6; i++) {
      const device = i % 2 ? b : a;
      const [pick] = await device.select(selection(`d-${i}`), { now: t + i * MIN, sessionTimeoutMs: 30 * MIN });
      served.push(pick!.pick?.blockId ?? "default");
    }
    expect(served.filter((s) => s === "sales-assist")).toHaveLength(2); // 1 before identify + 2 = 3
    // A conversion on the phone excludes the campaign on the laptop.
    await b.markConverted("assist", t);
    const [after] = await a.select({ ...selection("d-conv"), campaignCaps: {} }, { now: t + 10 * MIN, sessionTimeoutMs: 30 * MIN });
    expect(after!.excluded).toContainEqual({ blockId: "sales-assist", reason: "converted" });
    // One session: page views on either device count together.
    await a.pageView("shoes", { now: t + 11 * MIN, sessionTimeoutMs: 30 * MIN });
    expect((await b.pageView("shoes", { now: t + 12 * MIN, sessionTimeoutMs: 30 * MIN })).categoryViews.shoes).toBe(2);
  });

  it("merges the anonymous history once under 20 concurrent identify calls", async () => {
    const t = Date.now();
    const a = await visitor("concurrent-1");
    for (let i = 0; i < 2; i++) await a.select(selection(`c-${i}`), { now: t + i, sessionTimeoutMs: 30 * MIN });
    const answers = await Promise.all(Array.from({ length: 20 }, () => signedIdentify("concurrent-1", "cust-concurrent")));
    const bodies = (await Promise.all(answers.map((r) => r.json()))) as Array<{ linked: boolean; merged: boolean }>;
    expect(bodies.every((b) => b.linked)).toBe(true);
    expect(bodies.filter((b) => b.merged)).toHaveLength(1);
    const c = await customer("cust-concurrent");
    expect(await c.exposureCount()).toBe(2);
    expect(await c.linkedVisitors()).toEqual([await visitorKey("concurrent-1")]);
    // The cap of 3 sees the 2 merged exposures: one more, then none.
    const picks = [];
    for (let i = 0; i < 3; i++) picks.push((await a.select(selection(`c-after-${i}`), { now: t + 100 + i, sessionTimeoutMs: 30 * MIN }))[0]!.pick?.blockId ?? "default");
    expect(picks).toEqual(["sales-assist", "default", "default"]);
  });
});
