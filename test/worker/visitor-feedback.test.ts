import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { DecideResponse } from "../../worker/decide/schema.ts";
import { isHeldOut } from "../../worker/holdout/assign.ts";
import { visitorKey } from "../../worker/visitor/key.ts";
import { call, postDecide } from "./helpers.ts";

const holdout = { rate: Number(env.HOLDOUT_RATE), salt: env.HOLDOUT_SALT };
let n = 0;
const visitor = () => {
  for (;;) {
    const id = `converter-${n++}`;
    if (!isHeldOut(id, holdout)) return id;
  }
};
const shoes = (visitorId: string) => ({
  visitorId,
  slots: ["hero"],
  consent: { personalization: true, analytics: true },
  context: { signals: { pageType: "category", pageCategory: "shoes", categoryViews: { shoes: 4 } } },
});
const heroOf = async (visitorId: string) => (await (await postDecide(shoes(visitorId))).json<DecideResponse>()).decisions[0]!;

/** Polls `check`; decisions reach the audit log through the log queue, a moment after the answer. */
async function eventually(check: () => Promise<boolean>): Promise<boolean> {
  for (let i = 0; i < 600; i++) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

describe("an impression event for a served decision", () => {
  it("is not counted twice toward caps (serving already recorded it)", async () => {
    const id = visitor();
    const first = await heroOf(id);
    const stub = env.VISITOR.get(env.VISITOR.idFromName(await visitorKey(id)));
    expect(await eventually(async () => (await (await call(`/admin/decisions?visitor=${id}`, { headers: { authorization: "Bearer test-admin-token" } })).json<{ decisions: unknown[] }>()).decisions.length > 0)).toBe(true);
    await call("/v1/events", {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: JSON.stringify({ consent: { analytics: true, personalization: true }, events: [{ type: "impression", decisionId: first.decisionId, visitorId: id }] }),
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(await stub.exposureCount()).toBe(1);
  });
});

describe("a conversion excludes its campaign for that visitor", () => {
  it("stops serving the converted campaign (with personalisation consent)", async () => {
    const id = visitor();
    const first = await heroOf(id);
    expect(first.block.id).toBe("hero-shoes-trail");
    // Wait until the decision is in the audit log (written after the answer).
    expect(await eventually(async () => (await (await call(`/admin/decisions?visitor=${id}`, { headers: { authorization: "Bearer test-admin-token" } })).json<{ decisions: unknown[] }>()).decisions.length > 0)).toBe(true);
    const res = await call("/v1/events", {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: JSON.stringify({ consent: { analytics: true, personalization: true }, events: [{ type: "conversion", decisionId: first.decisionId, visitorId: id, value: 89, currency: "EUR" }] }),
    });
    expect(res.status).toBe(202);
    expect(await eventually(async () => (await heroOf(id)).block.id !== "hero-shoes-trail")).toBe(true);
  });

  it("counts a conversion sent before the log pipeline stored its decision (the visitor's object knows it)", async () => {
    const id = visitor();
    const first = await heroOf(id);
    expect(first.block.id).toBe("hero-shoes-trail");
    // No wait for the audit log: the conversion follows the answer at once.
    const res = await call("/v1/events", {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: JSON.stringify({ consent: { analytics: true, personalization: true }, events: [{ type: "conversion", decisionId: first.decisionId, visitorId: id, value: 89, currency: "EUR" }] }),
    });
    expect(res.status).toBe(202);
    const stub = env.VISITOR.get(env.VISITOR.idFromName(await visitorKey(id)));
    expect(await stub.campaignOfDecision(first.decisionId)).toBe("spring-shoes");
    expect(await eventually(async () => (await heroOf(id)).block.id !== "hero-shoes-trail")).toBe(true);
  });

  it("does not touch visitor state without personalisation consent", async () => {
    const id = visitor();
    const first = await heroOf(id);
    // The decision is in the audit log, so only the missing consent can keep the conversion out.
    expect(await eventually(async () => (await (await call(`/admin/decisions?visitor=${id}`, { headers: { authorization: "Bearer test-admin-token" } })).json<{ decisions: unknown[] }>()).decisions.length > 0)).toBe(true);
    await call("/v1/events", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ consent: { analytics: true }, events: [{ type: "conversion", decisionId: first.decisionId, visitorId: id, value: 10 }] }),
    });
    await new Promise((r) => setTimeout(r, 200));
    expect((await heroOf(id)).block.id).toBe("hero-shoes-trail");
  });
});
