import { listDurableObjectIds } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterAll, describe, expect, it } from "vitest";
import type { DecideResponse } from "../../worker/decide/schema.ts";
import { isHeldOut } from "../../worker/holdout/assign.ts";
import { visitorKey } from "../../worker/visitor/key.ts";
import { call, postDecide } from "./helpers.ts";

const ADMIN = { authorization: "Bearer test-admin-token" };
const holdout = { rate: Number(env.HOLDOUT_RATE), salt: env.HOLDOUT_SALT };
let n = 0;
/** A fresh visitor outside the control group. */
function visitor(): string {
  for (;;) {
    const id = `guard-${n++}`;
    if (!isHeldOut(id, holdout)) return id;
  }
}

const putGuardrails = (config: unknown, headers: Record<string, string> = ADMIN) =>
  call("/admin/guardrails", { method: "PUT", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(config) });

const shoes = (visitorId: string, extra: Record<string, unknown> = {}) => ({
  visitorId,
  slots: ["hero"],
  consent: { personalization: true },
  context: { signals: { pageType: "category", pageCategory: "shoes", categoryViews: { shoes: 4 }, visitCount: 3 } },
  ...extra,
});

afterAll(async () => {
  await putGuardrails({});
});

describe("guardrail configuration API", () => {
  it("needs the admin token", async () => {
    expect((await call("/admin/guardrails")).status).toBe(401);
    expect((await putGuardrails({}, {})).status).toBe(401);
    expect((await putGuardrails({}, { authorization: "Bearer nope" })).status).toBe(401);
  });

  it("saves versions with who and when, and lists them", async () => {
    const before = await (await call("/admin/guardrails", { headers: ADMIN })).json<{ version: number }>();
    const res = await putGuardrails({ latencyBudgetMs: 25 }, { ...ADMIN, "x-nextbest-actor": "ana@shop.example" });
    expect(res.status).toBe(200);
    const saved = await res.json<{ version: number; author: string; createdAt: number; config: { latencyBudgetMs: number; sessionTimeoutMinutes: number } }>();
    expect(saved).toMatchObject({ version: before.version + 1, author: "ana@shop.example", config: { latencyBudgetMs: 25, sessionTimeoutMinutes: 30 } });
    expect(saved.createdAt).toBeGreaterThan(0);
    const history = await (await call("/admin/guardrails/history", { headers: ADMIN })).json<{ versions: Array<{ version: number; author: string }> }>();
    expect(history.versions[0]).toMatchObject({ version: saved.version, author: "ana@shop.example" });
  });

  it.each([
    { config: { frequencyCaps: { global: [{ limit: -1, window: "day" }] } }, path: "frequencyCaps.global.0.limit" },
    { config: { frequencyCaps: { perBlock: { "hero-shoes-trail": [{ limit: 1, window: "fortnight" }] } } }, path: "frequencyCaps.perBlock.hero-shoes-trail.0.window" },
    { config: { latencyBudgetMs: "fast" }, path: "latencyBudgetMs" },
    { config: { compliance: { regions: [{ blockTag: "alcohol", allow: ["france"] }] } }, path: "compliance.regions.0.allow.0" },
    { config: { exclusions: { global: { emailHashes: ["not-a-hash"] } } }, path: "exclusions.global.emailHashes.0" },
    { config: { surprise: true }, path: "body" },
  ])("refuses a bad config with 422 naming $path, and keeps the old one", async ({ config, path }) => {
    const before = await (await call("/admin/guardrails", { headers: ADMIN })).json();
    const res = await putGuardrails(config);
    expect(res.status).toBe(422);
    const { error } = await res.json<{ error: { code: string; message: string } }>();
    expect(error.code).toBe("invalid_config");
    expect(error.message).toContain(`${path}:`);
    expect(await (await call("/admin/guardrails", { headers: ADMIN })).json()).toEqual(before);
  });
});

describe("guardrails in /v1/decide (workerd, real Durable Objects)", () => {
  it("enforces a per-block cap across requests", async () => {
    await putGuardrails({ frequencyCaps: { perBlock: { "hero-shoes-trail": [{ limit: 2, window: "day" }] } } });
    const id = visitor();
    const served: string[] = [];
    for (let i = 0; i < 3; i++) served.push((await (await postDecide(shoes(id))).json<DecideResponse>()).decisions[0]!.block.id);
    expect(served.slice(0, 2)).toEqual(["hero-shoes-trail", "hero-shoes-trail"]);
    expect(served[2]).not.toBe("hero-shoes-trail");
    // Another visitor is not affected.
    expect((await (await postDecide(shoes(visitor()))).json<DecideResponse>()).decisions[0]!.block.id).toBe("hero-shoes-trail");
  });

  it("holds a cap of 3 per day under 50 concurrent decides for one visitor", async () => {
    await putGuardrails({ frequencyCaps: { perBlock: { "hero-shoes-trail": [{ limit: 3, window: "day" }] } } });
    const id = visitor();
    const answers = await Promise.all(Array.from({ length: 50 }, () => postDecide(shoes(id)).then((r) => r.json<DecideResponse>())));
    const capped = answers.filter((a) => a.decisions[0]!.block.id === "hero-shoes-trail").length;
    expect(capped).toBe(3);
    expect(answers.every((a) => a.decisions[0]!.reason === "ranked")).toBe(true);
  });

  it("writes nothing to the visitor's Durable Object without consent", async () => {
    const id = visitor();
    const res = await postDecide(shoes(id, { consent: { personalization: false } }));
    expect((await res.json<DecideResponse>()).decisions[0]!.reason).toBe("default");
    const key = env.VISITOR.idFromName(await visitorKey(id)).toString();
    const ids = (await listDurableObjectIds(env.VISITOR)).map((i) => i.toString());
    expect(ids).not.toContain(key);
    // With consent the same visitor gets state.
    await postDecide(shoes(id));
    expect((await listDurableObjectIds(env.VISITOR)).map((i) => i.toString())).toContain(key);
  });

  it("explains every candidate with debug: true, for admins only", async () => {
    await putGuardrails({ frequencyCaps: { perBlock: { "hero-bags-travel": [{ limit: 0, window: "hour" }] } } });
    const body = shoes(visitor(), { debug: true, context: { url: "https://shop.example/shoes.html", signals: { pageCategory: "shoes", pageTags: ["sale"] } } });
    expect((await postDecide(body)).status).toBe(401);
    const res = await postDecide(body, ADMIN);
    expect(res.status).toBe(200);
    const { debug } = await res.json<{ debug: { guardrailsVersion: number; slots: Record<string, Array<{ blockId: string; rules: unknown[]; score?: number; excluded?: { reason: string } }>> } }>();
    const hero = debug.slots.hero!;
    expect(hero.map((c) => c.blockId)).toContain("hero-shoes-trail");
    expect(hero.every((c) => c.rules.length > 0)).toBe(true);
    expect(hero.find((c) => c.blockId === "hero-shoes-trail")!.score).toBeGreaterThan(0);
    expect(hero.find((c) => c.blockId === "hero-bags-travel")!.excluded?.reason).toBe("cap_block");
    expect(debug.guardrailsVersion).toBeGreaterThan(0);
  });
});
