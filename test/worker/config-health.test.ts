import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { createApp } from "../../worker/app.ts";
import { CATALOG_KEY, DEMO_CATALOG } from "../../worker/catalog/store.ts";
import { configHealth, expireConfigCaches, lastGood, type SourceHealth } from "../../worker/config-health/last-good.ts";
import type { DecideResponse } from "../../worker/decide/schema.ts";
import { GUARDRAILS_KEY } from "../../worker/guardrails/store.ts";
import { CAMPAIGN_HOLDOUTS_KEY } from "../../worker/holdout/campaign.ts";
import { isHeldOut } from "../../worker/holdout/assign.ts";
import { isolateModelRuntime } from "../../worker/models/runtime.ts";
import { call, postDecide } from "./helpers.ts";

const ADMIN = { authorization: "Bearer test-admin-token" };
const holdout = { rate: Number(env.HOLDOUT_RATE), salt: env.HOLDOUT_SALT };
let n = 0;
const visitor = () => {
  for (;;) {
    const id = `health-${n++}`;
    if (!isHeldOut(id, holdout)) return id;
  }
};
const shoes = (visitorId: string) => ({
  visitorId,
  slots: ["hero"],
  consent: { personalization: true },
  context: { signals: { pageType: "category", pageCategory: "shoes", categoryViews: { shoes: 4 }, visitCount: 3 } },
});

/** Writes straight to KV (as a script or the dashboard would) and lets this isolate read it. */
async function store(key: string, value: unknown) {
  await env.CONFIG.put(key, typeof value === "string" ? value : JSON.stringify(value));
  expireConfigCaches();
}
const health = async () => (await call("/admin/config/health", { headers: ADMIN })).json<{ ok: boolean; sources: Record<string, SourceHealth> }>();

/** The demo catalog, version 41, with a recognisable hero. */
const GOOD = { ...DEMO_CATALOG, version: 41, blocks: DEMO_CATALOG.blocks.map((b) => (b.id === "hero-shoes-trail" ? { ...b, html: "<p>trail shoes, catalog 41</p>" } : b)) };
/** Version 42 with one block without `html`: must never be served. */
const BAD = { ...GOOD, version: 42, blocks: GOOD.blocks.map((b, i) => (i === 3 ? (({ html: _, ...rest }) => rest)(b) : b)) };

/** Generous budgets: these tests are about configuration, not speed (a loaded machine is slow). */
const GENEROUS = { version: 0, author: "config-health-test", createdAt: 0, action: "put", config: { latencyBudgetMs: 10_000, coldStartBudgetMs: 30_000 } };
beforeEach(() => store(GUARDRAILS_KEY, GENEROUS));
afterEach(async () => {
  await env.CONFIG.put(CATALOG_KEY, JSON.stringify(DEMO_CATALOG));
  await Promise.all([env.CONFIG.delete(GUARDRAILS_KEY), env.CONFIG.delete(CAMPAIGN_HOLDOUTS_KEY)]);
  expireConfigCaches();
});
afterAll(async () => {
  await env.DB.prepare("DELETE FROM model_deployments WHERE actor = 'config-health-test'").run();
  isolateModelRuntime.invalidate();
});

describe("a catalog that does not validate never breaks serving", () => {
  it("decide answers 200 with the last valid catalog, and the admin API shows the error", async () => {
    await store(CATALOG_KEY, GOOD);
    const first = await postDecide(shoes(visitor()));
    expect(first.status).toBe(200);
    expect((await first.json<DecideResponse>()).decisions[0]!.block.html).toBe("<p>trail shoes, catalog 41</p>");

    await store(CATALOG_KEY, BAD);
    for (const id of [visitor(), visitor(), visitor()]) {
      const res = await postDecide(shoes(id));
      expect(res.status).toBe(200);
      const [decision] = (await res.json<DecideResponse>()).decisions;
      expect(decision).toMatchObject({ reason: "ranked", block: { id: "hero-shoes-trail", html: "<p>trail shoes, catalog 41</p>" } });
    }

    const report = await health();
    expect(report.ok).toBe(false);
    expect(report.sources.catalog).toMatchObject({ status: "invalid", serving: "last-good", servingVersion: 41 });
    expect(report.sources.catalog!.error!.message).toContain("blocks.3.html:");
    expect(report.sources.guardrails).toMatchObject({ status: "ok", error: null });

    // Fixed in KV: served again and reported healthy.
    await store(CATALOG_KEY, { ...GOOD, version: 43 });
    expect((await health()).sources.catalog).toMatchObject({ status: "ok", serving: "stored", servingVersion: 43, error: null });
  });

  it("proxy mode keeps personalising with the last valid catalog", async () => {
    await store(CATALOG_KEY, GOOD);
    await postDecide(shoes(visitor())); // this isolate has now validated catalog 41
    await store(CATALOG_KEY, BAD);
    // A generous edge budget: this test is about the catalog, not about speed.
    const app = createApp();
    const ctx = createExecutionContext();
    const res = await app.fetch(
      // The assets origin serves shoes.html at /shoes (a request for /shoes.html is redirected there).
      new Request("http://nextbest.test/edge/shoes", { headers: { cookie: "nb_consent=personalization%3D1%26analytics%3D1" } }),
      { ...env, PROXY_BUDGET_MS: "60000" },
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(res.status).toBe(200);
    const html = await res.text();
    const hero = /<div data-nb-slot="hero"[^>]*data-nb-block="([^"]+)"[^>]*data-nb-reason="([^"]+)"/.exec(html);
    expect(hero?.[2]).toMatch(/^(ranked|holdout)$/);
    expect(GOOD.blocks.map((b) => b.id)).toContain(hero?.[1]);
  });
});

describe("every configuration source read on the decide path", () => {
  it.each([
    { source: "guardrails", key: GUARDRAILS_KEY, value: { version: 7, author: "x", createdAt: 1, config: { latencyBudgetMs: "fast" } }, path: "config.latencyBudgetMs:" },
    { source: "guardrails", key: GUARDRAILS_KEY, value: "{not json", path: "" },
    { source: "campaignHoldouts", key: CAMPAIGN_HOLDOUTS_KEY, value: { campaigns: { "spring-shoes": { rate: 2, salt: "s" } } }, path: "campaigns.spring-shoes.rate:" },
    { source: "catalog", key: CATALOG_KEY, value: { ...GOOD, slots: { hero: { defaultBlock: "nope" } } }, path: "slots.hero.defaultBlock:" },
    { source: "catalog", key: CATALOG_KEY, value: "[1, 2", path: "" },
  ])("$source stored as $value: decide 200, error reported", async ({ source, key, value, path }) => {
    await store(key, value);
    const res = await postDecide(shoes(visitor()));
    expect(res.status).toBe(200);
    expect((await res.json<DecideResponse>()).decisions[0]!.reason).toMatch(/^(ranked|holdout)$/);
    const report = await health();
    expect(report.ok).toBe(false);
    const entry = report.sources[source]!;
    expect(entry.status).toBe(path ? "invalid" : "unreadable");
    expect(entry.serving).not.toBe("stored");
    expect(entry.error!.message).toContain(path);
  });

  it("a model deployment that does not validate keeps the model this isolate served", async () => {
    const latest = await env.DB.prepare("SELECT COALESCE(MAX(revision), 0) AS r FROM model_deployments").first<{ r: number }>();
    await env.DB.prepare("INSERT INTO model_deployments (revision, action, model_id, state, actor, created_at) VALUES (?, 'activate', NULL, ?, 'config-health-test', 0)")
      .bind(latest!.r + 1, JSON.stringify({ champion: "not-a-model", history: [], challenger: null, shadows: [] }))
      .run();
    isolateModelRuntime.invalidate();
    const res = await postDecide(shoes(visitor()));
    expect(res.status).toBe(200);
    expect((await res.json<DecideResponse>()).decisions[0]!.reason).toBe("ranked");
    const entry = (await health()).sources.modelDeployment!;
    expect(entry).toMatchObject({ status: "invalid" });
    expect(entry.serving).not.toBe("stored");
    expect(entry.error!.message).toContain("champion: a model id");
  });

  it("needs the admin token", async () => {
    expect((await call("/admin/config/health")).status).toBe(401);
  });
});

describe("lastGood (the per-isolate cache)", () => {
  const spec = (name: string) =>
    lastGood<{ v: number }>({
      source: "campaignHoldouts",
      validate: (raw) => (typeof (raw as { v?: unknown }).v === "number" ? { ok: true, value: raw as { v: number } } : { ok: false, message: `v: ${name} must be a number` }),
      builtIn: () => ({ v: 0 }),
      version: (x) => x.v,
      ttlMs: 1000,
    });
  it.each([
    { reads: [{ v: 1 }], served: 1, status: "ok", serving: "stored" },
    { reads: [null], served: 0, status: "ok", serving: "built-in" },
    { reads: [{ v: "x" }], served: 0, status: "invalid", serving: "built-in" },
    { reads: [{ v: 5 }, { v: "x" }], served: 5, status: "invalid", serving: "last-good" },
    { reads: [{ v: 5 }, new Error("KV down")], served: 5, status: "unreadable", serving: "last-good" },
    { reads: [new Error("KV down")], served: 0, status: "unreadable", serving: "built-in" },
    { reads: [{ v: 5 }, { v: "x" }, { v: 6 }], served: 6, status: "ok", serving: "stored" },
  ])("reads $reads → serves $served ($serving, $status)", async ({ reads, served, status, serving }) => {
    const cache = spec("case");
    let value: { v: number } | undefined;
    let t = 0;
    for (const raw of reads) {
      t += 1000; // each read after the cache period
      value = await cache.get(async () => {
        if (raw instanceof Error) throw raw;
        return raw;
      }, t);
    }
    expect(value).toEqual({ v: served });
    // The cache reported this source's health as read last.
    expect(configHealth().find((h) => h.source === "campaignHoldouts")).toMatchObject({ status, serving, servingVersion: served });
  });

  it("reads once per cache period", async () => {
    const cache = spec("ttl");
    let reads = 0;
    const read = async () => (reads++, { v: reads });
    await cache.get(read, 0);
    await cache.get(read, 999);
    expect(reads).toBe(1);
    expect(await cache.get(read, 1000)).toEqual({ v: 2 });
  });
});
