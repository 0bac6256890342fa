import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../worker/app.ts";
import type { Block } from "../../worker/catalog/schema.ts";
import type { Decision } from "../../worker/decide/schema.ts";
import { isHeldOut } from "../../worker/holdout/assign.ts";
import { decodeLogBody } from "../../worker/pipeline/messages.ts";
import { previewCatalog, type PreviewAnswer } from "../../worker/preview/preview.ts";
import { visitorKey } from "../../worker/visitor/key.ts";
import { call } from "./helpers.ts";

const ADMIN = { authorization: "Bearer test-admin-token", "content-type": "application/json" };
const holdout = { rate: Number(env.HOLDOUT_RATE), salt: env.HOLDOUT_SALT };
let n = 0;
const visitor = (inControl = false) => {
  for (;;) {
    const id = `preview-${n++}`;
    if (isHeldOut(id, holdout) === inControl) return id;
  }
};

// The real app and bindings, with the log queue observed: every record a decide hands to the
// pipeline passes through `sent`.
const sent: unknown[] = [];
const queue = {
  send: async (body: unknown) => void sent.push(body),
  sendBatch: async (batch: Iterable<{ body: unknown }>) => void [...batch].forEach((m) => sent.push(decodeLogBody(m.body))),
} as unknown as Queue;
const testEnv = { ...env, LOG_QUEUE: queue };
const app = createApp();
async function post<T>(path: string, body: object, headers: Record<string, string> = ADMIN, status = 200): Promise<T> {
  const ctx = createExecutionContext();
  const res = await app.fetch(new Request(`http://nextbest.test${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) }), testEnv, ctx);
  await waitOnExecutionContext(ctx);
  expect(res.status, await res.clone().text()).toBe(status);
  return res.json<T>();
}
const exposures = async (visitorId: string) => env.VISITOR.get(env.VISITOR.idFromName(await visitorKey(visitorId))).exposureCount();
const rows = async (table: string) => (await env.DB.prepare(`SELECT COUNT(*) AS n FROM ${table}`).first<number>("n"))!;

const SHOES = { pageType: "category", pageCategory: "shoes", categoryViews: { shoes: 4 }, visitCount: 3 };
const BAGS = { pageType: "product", pageCategory: "bags", categoryViews: { bags: 2, shoes: 1 }, visitCount: 1, device: "mobile" };
const request = (visitorId: string, signals: object, slots = ["hero", "sidebar"]) => ({
  visitorId,
  slots,
  consent: { personalization: true, analytics: true },
  context: { url: "https://shop.test/shoes", signals },
});
const same = (d: Decision) => ({ slot: d.slot, block: d.block, reason: d.reason, score: d.score, propensity: d.propensity, modelVersion: d.modelVersion, holdout: d.holdout });

beforeAll(async () => {
  // One exposure a day of the shoes hero; budgets generous (this is about equality, not speed).
  const config = { latencyBudgetMs: 10_000, coldStartBudgetMs: 30_000, frequencyCaps: { perBlock: { "hero-shoes-trail": [{ limit: 1, window: "day" }] } } };
  expect((await call("/admin/guardrails", { method: "PUT", headers: ADMIN, body: JSON.stringify(config) })).status).toBe(200);
});
afterAll(async () => {
  await call("/admin/guardrails", { method: "PUT", headers: ADMIN, body: "{}" });
});

describe("POST /admin/preview equals the real decision and stores nothing", () => {
  it.each([
    { name: "shoes page", signals: SHOES, control: false },
    { name: "bags page on mobile", signals: BAGS, control: false },
    { name: "universal control group", signals: SHOES, control: true },
  ])("$name: same blocks, scores and reasons as /v1/decide", async ({ signals, control }) => {
    const id = visitor(control);
    const before = { sent: sent.length, decisions: await rows("decisions"), events: await rows("events") };
    const preview = await post<PreviewAnswer>("/admin/preview", request(id, signals));
    const again = await post<PreviewAnswer>("/admin/preview", request(id, signals));
    // Nothing recorded: no queue message, no D1 row, no exposure in the visitor's Durable Object.
    expect(preview.recorded).toBe(false);
    expect(sent.length).toBe(before.sent);
    expect(await rows("decisions")).toBe(before.decisions);
    expect(await rows("events")).toBe(before.events);
    expect(await exposures(id)).toBe(0);
    expect(again.decisions.map(same)).toEqual(preview.decisions.map(same));

    // The real decision (debug + record, so it is recorded AND explained) for the same inputs.
    const real = await post<{ decisions: Decision[]; debug: { slots: Record<string, Array<{ blockId: string; score?: number; excluded?: { reason: string } }>> } }>(
      "/v1/decide",
      { ...request(id, signals), debug: true, record: true },
    );
    expect(preview.decisions.map(same)).toEqual(real.decisions.map(same));
    expect(preview.visitor.universalHoldout).toBe(control);
    for (const slot of preview.slots) {
      const debug = real.debug.slots[slot.slot]!;
      expect(slot.candidates.map((c) => c.blockId).sort()).toEqual(debug.map((d) => d.blockId).sort());
      for (const c of slot.candidates) {
        const d = debug.find((x) => x.blockId === c.blockId)!;
        expect(c.arbitration.score).toBe(d.score ?? null);
        expect(c.excluded?.reason ?? null).toBe(d.excluded?.reason ?? null);
      }
    }
    // The control: a real decide does reach the queue and the visitor's object.
    expect(sent.length).toBeGreaterThan(before.sent);
    if (!control) expect(await exposures(id)).toBeGreaterThan(0);
  });

  it("a described history applies the caps the visitor's Durable Object would", async () => {
    const id = visitor();
    const first = await post<{ decisions: Decision[] }>("/v1/decide", request(id, SHOES, ["hero"]));
    expect(first.decisions[0]!.block.id).toBe("hero-shoes-trail");
    const now = Date.now();
    const described = { ...request(id, SHOES, ["hero"]), history: { exposures: [{ blockId: "hero-shoes-trail", at: now - 60_000 }] } };
    const preview = await post<PreviewAnswer>("/admin/preview", described);
    const second = await post<{ decisions: Decision[] }>("/v1/decide", request(id, SHOES, ["hero"]));
    expect(preview.decisions.map(same)).toEqual(second.decisions.map(same));
    const capped = preview.slots[0]!.candidates.find((c) => c.blockId === "hero-shoes-trail")!;
    expect(capped).toMatchObject({ eligible: false, chosen: false, excluded: { reason: "cap_block" } });
    // Without the history (a new visitor) the preview serves the capped block again.
    expect((await post<PreviewAnswer>("/admin/preview", request(id, SHOES, ["hero"]))).decisions[0]!.block.id).toBe("hero-shoes-trail");
    expect(await exposures(id)).toBe(2);
  });

  it("explains rules, country, device and time", async () => {
    const answer = await post<PreviewAnswer>("/admin/preview", { ...request("preview-x", SHOES, ["hero"]), holdout: false, country: "DE", device: "desktop", time: "2026-06-01T12:00:00Z" });
    expect(answer.time).toBe("2026-06-01T12:00:00.000Z");
    expect(answer.visitor).toMatchObject({ country: "DE", universalHoldout: false });
    const slot = answer.slots[0]!;
    expect(slot.pool.length).toBeGreaterThan(0);
    for (const c of slot.candidates) {
      expect(c.rules.length).toBeGreaterThan(0);
      expect(c.arbitration.value).toBeGreaterThanOrEqual(0);
      if (c.excluded) expect(c.excluded.description.length).toBeGreaterThan(0);
    }
    expect(slot.candidates.filter((c) => c.chosen).map((c) => c.blockId)).toEqual([slot.decision.block.id]);
  });

  it.each([
    { body: {}, status: 400 },
    { body: { slots: ["nope"], consent: { personalization: true } }, status: 422 },
    { body: { slots: ["hero"], time: "yesterday" }, status: 400 },
    { body: { slots: ["hero"], history: { exposures: [{ blockId: "x" }] } }, status: 400 },
  ])("refuses $body with $status", async ({ body, status }) => {
    const res = await post<{ error: { code: string } }>("/admin/preview", body, ADMIN, status);
    expect(res.error.code).toBeTruthy();
  });

  it("needs the admin token", async () => {
    await post("/admin/preview", request("preview-y", SHOES), { "content-type": "application/json" }, 401);
  });
});

describe("preview links", () => {
  it("a signed link previews without the admin token; altered, expired or forged ones are refused", async () => {
    const link = await post<{ token: string; url: string; expiresAt: string }>("/admin/preview/links", { ...request("preview-link", SHOES, ["hero"]), holdout: false, ttlSeconds: 600 }, ADMIN, 201);
    expect(new URL(link.url).searchParams.get("nb_preview")).toBe(link.token);
    const before = sent.length;
    const viaLink = await post<PreviewAnswer>("/v1/preview", { token: link.token }, {});
    const direct = await post<PreviewAnswer>("/admin/preview", { ...request("preview-link", SHOES, ["hero"]), holdout: false });
    expect(viaLink.decisions.map(same)).toEqual(direct.decisions.map(same));
    expect(sent.length).toBe(before);
    const [v, payload, sig] = link.token.split(".");
    const tampered = `${v}.${payload!.slice(0, -2)}AA.${sig}`;
    for (const token of [tampered, `${v}.${payload}.${sig!.slice(0, -2)}AA`, "v1.e30.AAAA", "nonsense"]) {
      expect((await post<{ error: { code: string } }>("/v1/preview", { token }, {}, 401)).error.code).toBe("unauthorized");
    }
  });

  it("an expired link is refused", async () => {
    const link = await post<{ token: string }>("/admin/preview/links", { ...request("preview-old", SHOES, ["hero"]), ttlSeconds: 60 }, ADMIN, 201);
    const later = createApp(() => ({ now: () => Date.now() + 61_000 }));
    const ctx = createExecutionContext();
    const res = await later.fetch(new Request("http://nextbest.test/v1/preview", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ token: link.token }) }), testEnv, ctx);
    await waitOnExecutionContext(ctx);
    expect(res.status).toBe(401);
    expect(await res.text()).toContain("expired");
  });
});

describe("previewCatalog: serving blocks, drafts only when asked", () => {
  const block = (id: string, status?: Block["status"]) => ({ id, slots: ["hero"], category: "c", tags: [], campaign: "k", priority: 1, value: 1, html: "", ...(status ? { status } : {}) });
  const catalog = {
    version: 3,
    slots: { hero: { defaultBlock: "d" } },
    blocks: [block("d", "draft"), block("none"), block("live", "live"), block("approved", "approved"), block("draft", "draft"), block("archived", "archived")],
  };
  it.each([
    { includeDrafts: false, ids: ["d", "none", "live", "approved"] },
    { includeDrafts: true, ids: ["d", "none", "live", "approved", "draft"] },
  ])("includeDrafts $includeDrafts keeps $ids", ({ includeDrafts, ids }) => {
    expect(previewCatalog(catalog, includeDrafts).blocks.map((b) => b.id)).toEqual(ids);
  });
});
