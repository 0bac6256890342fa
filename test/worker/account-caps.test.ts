// Account-level caps (worker/identity/account-caps.ts): a cap with scope "account" counts every
// customer and device of one account, atomically, in the account's Durable Object.
import { env } from "cloudflare:workers";
import { SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { staticCatalogStore } from "../../worker/catalog/store.ts";
import { decide, type DecideDeps } from "../../worker/decide/decide.ts";
import { decideRequestSchema } from "../../worker/decide/schema.ts";
import { selectSlots, type RankedOption, type SelectionInput } from "../../worker/decide/select.ts";
import { guardrailConfigSchema } from "../../worker/guardrails/config.ts";
import { accountKey, accountObject, type IdentityEnv } from "../../worker/identity/keys.ts";
import { usesAccountCaps } from "../../worker/identity/account-caps.ts";
import { linearScorer } from "../../worker/ranking/scorer.ts";
import { visitorStateClient } from "../../worker/visitor/client.ts";
import { visitorKey } from "../../worker/visitor/key.ts";
import { call } from "./helpers.ts";

const MIN = 60_000;
/** IDENTIFY_SECRET of the Worker tests (vitest.config.ts). */
const SECRET = new TextEncoder().encode("test-identify-secret-0123456789abcdef");
let jti = 0;
const identify = async (visitorId: string, claims: Record<string, unknown>) => {
  const token = await new SignJWT(claims).setProtectedHeader({ alg: "HS256" }).setSubject(String(claims.sub)).setJti(`acct-jti-${Date.now()}-${++jti}`).setExpirationTime("10m").sign(SECRET);
  const res = await call("/v1/identify", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ visitorId, consent: { personalization: true }, token }) });
  expect(res.status).toBe(200);
};
const object = (name: string) => env.VISITOR.get(env.VISITOR.idFromName(name));
const visitor = async (id: string) => object(await visitorKey(id));
const account = async (id: string) => object(accountObject(await accountKey(env as IdentityEnv, id)));

const ACCOUNT_CAP = { limit: 2, window: "week", scope: "account" } as const;
const offer: RankedOption = { blockId: "sales-assist", campaign: "assist", tags: [], caps: [], rank: 1, personalized: true };
const selection = (decisionId: string, caps: Partial<SelectionInput> = { campaignCaps: { assist: [ACCOUNT_CAP] } }): SelectionInput => ({
  slots: [{ slot: "hero", decisionId, options: [offer] }],
  epsilon: 0,
  globalCaps: [],
  campaignCaps: {},
  maxPromotionalPerPage: 10,
  promotionalTag: "promo",
  oneBlockPerCampaign: false,
  excludeConverted: true,
  ...caps,
});

describe("account caps: configuration", () => {
  it.each([
    { cap: { limit: 2, window: "week", scope: "account" }, ok: true },
    { cap: { limit: 2, window: "lifetime", scope: "account" }, ok: true },
    { cap: { limit: 2, window: "week" }, ok: true },
    { cap: { limit: 2, window: "session", scope: "account" }, ok: false },
    { cap: { limit: 2, window: "week", scope: "company" }, ok: false },
  ])("perCampaign cap $cap → valid $ok", ({ cap, ok }) => {
    expect(guardrailConfigSchema.safeParse({ frequencyCaps: { perCampaign: { assist: [cap] } } }).success).toBe(ok);
  });

  it.each([
    { caps: { campaignCaps: { assist: [ACCOUNT_CAP] } }, uses: true },
    { caps: { globalCaps: [ACCOUNT_CAP] }, uses: true },
    { caps: { campaignCaps: { assist: [{ limit: 2, window: "week" as const }] } }, uses: false },
  ])("usesAccountCaps($caps) = $uses (no account call otherwise)", ({ caps, uses }) => {
    expect(usesAccountCaps(selection("u", caps))).toBe(uses);
    expect(usesAccountCaps({ ...selection("u", {}), slots: [{ slot: "hero", decisionId: "u", options: [{ ...offer, caps: [ACCOUNT_CAP] }] }] })).toBe(true);
  });

  it("a visitor with no account is an account of one: the cap counts their own history", () => {
    const history = { recent: [], lifetime: {}, converted: [], sessionStart: 0 };
    const served = [1, 2, 3].map((i) => selectSlots(selection(`solo-${i}`), history, 1_000 + i)[0]!);
    expect(served.map((p) => p.pick?.blockId ?? "default")).toEqual(["sales-assist", "sales-assist", "default"]);
    expect(served[2]!.excluded).toEqual([{ blockId: "sales-assist", reason: "cap_account", detail: "campaign:assist: 2 per week" }]);
  });
});

describe("account caps across customers and devices", () => {
  it("two customers of one account on two devices, account cap 2 a week: 2 in all", async () => {
    const t = Date.now();
    await identify("acct-alice-laptop", { sub: "acct-alice", accountId: "initech" });
    await identify("acct-bob-phone", { sub: "acct-bob", accountId: "initech" });
    await identify("acct-alice-phone", { sub: "acct-alice" }); // her second device: account from her profile
    const devices = await Promise.all(["acct-alice-laptop", "acct-bob-phone", "acct-alice-phone"].map(visitor));
    const picks = [];
    for (let i = 0; i < 6; i++) picks.push((await devices[i % 3]!.select(selection(`acct-d-${i}`), { now: t + i * MIN, sessionTimeoutMs: 30 * MIN }))[0]!);
    expect(picks.map((p) => p.pick?.blockId ?? "default")).toEqual(["sales-assist", "sales-assist", "default", "default", "default", "default"]);
    // Explained like other caps: reason code and which cap.
    expect(picks[2]!.excluded).toEqual([{ blockId: "sales-assist", reason: "cap_account", detail: "campaign:assist: 2 per week" }]);
    expect(await (await account("initech")).exposureCount()).toBe(2);
    // Visitor-scoped caps still count per customer: Bob's own cap of 1 is not Alice's.
    const own = { campaignCaps: { assist: [{ limit: 1, window: "week" as const }] } };
    expect((await devices[1]!.select(selection("acct-own-1", own), { now: t + 10 * MIN, sessionTimeoutMs: 30 * MIN }))[0]!.pick).toBeUndefined();
    // A week later the account's window has moved on.
    const later = await devices[0]!.select(selection("acct-later"), { now: t + 7 * 24 * 60 * MIN + MIN, sessionTimeoutMs: 30 * MIN });
    expect(later[0]!.pick?.blockId).toBe("sales-assist");
  });

  it("concurrent decides of several customers of one account never exceed the account cap", async () => {
    const t = Date.now();
    const ids = ["acct-c1-a", "acct-c1-b", "acct-c2-a", "acct-c3-a"];
    await identify(ids[0]!, { sub: "acct-c1", accountId: "umbrella" });
    await identify(ids[1]!, { sub: "acct-c1" });
    await identify(ids[2]!, { sub: "acct-c2", accountId: "umbrella" });
    await identify(ids[3]!, { sub: "acct-c3", accountId: "umbrella" });
    const devices = await Promise.all(ids.map(visitor));
    const picks = await Promise.all(Array.from({ length: 20 }, (_, i) => devices[i % ids.length]!.select(selection(`acct-conc-${i}`), { now: t + i, sessionTimeoutMs: 30 * MIN })));
    expect(picks.filter(([p]) => p!.pick).length).toBe(2);
    expect(await (await account("umbrella")).exposureCount()).toBe(2);
  });

  it("through decide: the audit trace and debug explain the account cap; a debug decide consumes nothing", async () => {
    const catalog = structuredClone(await staticCatalogStore().get());
    const guardrails = guardrailConfigSchema.parse({ frequencyCaps: { perBlock: { "hero-jackets-rain": [{ limit: 1, window: "day", scope: "account" }] } } });
    await identify("acct-decide-1", { sub: "acct-decide-a", accountId: "hooli" });
    await identify("acct-decide-2", { sub: "acct-decide-b", accountId: "hooli" });
    let n = 0;
    const deps = (record: boolean): DecideDeps => ({
      catalog,
      guardrails,
      models: async () => ({ serving: linearScorer({ version: 1, name: "unit", features: ["page_category_match", "block_default"], output: "score" }, [5, -1]), arm: "champion", shadows: [] }),
      visitorState: visitorStateClient(env.VISITOR),
      newId: () => `acct-decide-${++n}`,
      now: () => Date.now(),
      holdout: { rate: 0, salt: "unit" },
      epsilon: 0,
      record,
    });
    const request = (visitorId: string) => decideRequestSchema.parse({ visitorId, slots: ["hero"], consent: { personalization: true }, context: { signals: { pageCategory: "jackets" } } });
    const preview = await decide(request("acct-decide-1"), deps(false));
    expect(preview.decisions[0]!.block.id).toBe("hero-jackets-rain");
    const first = await decide(request("acct-decide-1"), deps(true));
    expect(first.decisions[0]!.block.id).toBe("hero-jackets-rain");
    const second = await decide(request("acct-decide-2"), deps(true));
    expect(second.decisions[0]!.block.id).not.toBe("hero-jackets-rain");
    expect(second.traces[0]!.excluded).toContainEqual({ blockId: "hero-jackets-rain", reason: "cap_account", detail: "block:hero-jackets-rain: 1 per day" });
    expect(second.debug.hero!.find((c) => c.blockId === "hero-jackets-rain")!.excluded).toMatchObject({ reason: "cap_account" });
  });
});
