/**
 * Issue 12 item 5: refused input changes no state. A conversion refused by `POST /v1/events` —
 * invalid, sent without analytics consent, or in a batch refused whole — must not mark its
 * campaign as converted in the visitor's Durable Object; the same conversion accepted does.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { DecideResponse } from "../../worker/decide/schema.ts";
import { isHeldOut } from "../../worker/holdout/assign.ts";
import type { VisitorState } from "../../worker/visitor/visitor-state.ts";
import { visitorKey } from "../../worker/visitor/key.ts";
import { call, postDecide } from "./helpers.ts";

const holdout = { rate: Number(env.HOLDOUT_RATE), salt: env.HOLDOUT_SALT };
let n = 0;
const visitor = () => {
  for (;;) {
    const id = `refused-${n++}`;
    if (!isHeldOut(id, holdout)) return id;
  }
};

/** Decides for a new visitor with consent; the visitor's object remembers the decision's campaign. */
async function servedVisitor(): Promise<{ id: string; decisionId: string }> {
  const id = visitor();
  const res = await postDecide({
    visitorId: id,
    slots: ["hero"],
    consent: { personalization: true, analytics: true },
    context: { signals: { pageType: "category", pageCategory: "shoes", categoryViews: { shoes: 4 } } },
  });
  const hero = (await res.json<DecideResponse>()).decisions[0]!;
  expect(hero.block.id).toBe("hero-shoes-trail"); // campaign spring-shoes
  return { id, decisionId: hero.decisionId };
}

async function convertedCampaigns(id: string): Promise<string[]> {
  const stub = env.VISITOR.get(env.VISITOR.idFromName(await visitorKey(id))) as DurableObjectStub<VisitorState>;
  // A first visit's tables are written ~50 ms after its answer (worker/visitor/pending-writes.ts): none yet, nothing converted.
  return runInDurableObject(stub, (_, state) =>
    state.storage.sql.exec("SELECT name FROM sqlite_master WHERE name = 'converted'").toArray().length
      ? state.storage.sql.exec<{ campaign: string }>("SELECT campaign FROM converted").toArray().map((r) => r.campaign)
      : [],
  );
}

const postEvents = (body: unknown) => call("/v1/events", { method: "POST", headers: { "content-type": "text/plain" }, body: typeof body === "string" ? body : JSON.stringify(body) });

async function eventually(check: () => Promise<boolean>): Promise<boolean> {
  for (let i = 0; i < 300; i++) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

const both = { analytics: true, personalization: true };
const conversion = (id: string, decisionId: string, extra: Record<string, unknown> = {}) => ({ type: "conversion", visitorId: id, decisionId, value: 20, currency: "EUR", ...extra });

const click = (id: string, d: string) => ({ type: "click", visitorId: id, decisionId: d, consent: both });

/** Each refused conversion: the body sent, the status, and the rejection code answered. */
const REFUSED: Array<[string, (id: string, decisionId: string) => unknown, number, string]> = [
  // Another event of the batch is fine, so the batch is accepted and this one rejected.
  ["invalid_event", (id, d) => ({ consent: both, events: [{ type: "click", visitorId: id, decisionId: d }, conversion(id, d, { currency: "euro" })] }), 202, "invalid_event"],
  // Personalisation consent alone does not let an event in: analytics consent is what stores it
  // (the click beside it has analytics consent, so the batch stores something).
  ["no_consent (batch)", (id, d) => ({ consent: { analytics: false, personalization: true }, events: [click(id, d), conversion(id, d)] }), 202, "no_consent"],
  ["no_consent (event overrides the batch)", (id, d) => ({ consent: both, events: [click(id, d), conversion(id, d, { consent: { analytics: false, personalization: true } })] }), 202, "no_consent"],
  // No valid event: the whole request is refused.
  ["invalid_request (no valid event)", (id, d) => ({ consent: both, events: [conversion(id, d, { value: -1 })] }), 400, "invalid_request"],
  ["invalid_request (bad envelope)", (id, d) => ({ consent: both, events: conversion(id, d) }), 400, "invalid_request"],
  ["invalid_json", (id, d) => `{"consent":{"analytics":true,"personalization":true},"events":[${JSON.stringify(conversion(id, d))}]`, 400, "invalid_json"],
];

describe("a conversion refused by POST /v1/events changes no visitor state", () => {
  it.each(REFUSED)("%s", async (_name, body, status, code) => {
    const refused = await servedVisitor();
    const res = await postEvents(body(refused.id, refused.decisionId));
    expect(res.status).toBe(status);
    const answer = await res.json<{ rejected?: Array<{ code: string }>; error?: { code: string } }>();
    if (status === 202) expect(answer.rejected!.map((r) => r.code)).toContain(code);
    else expect(answer.error!.code).toBe(code);

    // The same conversion accepted for another visitor shows the side effect runs (after the
    // answer); by the time it has, the refused one would have too.
    const accepted = await servedVisitor();
    expect((await postEvents({ consent: both, events: [conversion(accepted.id, accepted.decisionId)] })).status).toBe(202);
    expect(await eventually(async () => (await convertedCampaigns(accepted.id)).includes("spring-shoes"))).toBe(true);
    expect(await convertedCampaigns(refused.id)).toEqual([]);
  });

  it("an accepted conversion without personalisation consent is stored but changes no visitor state", async () => {
    const refused = await servedVisitor();
    const res = await postEvents({ consent: { analytics: true }, events: [conversion(refused.id, refused.decisionId)] });
    expect(await res.json()).toMatchObject({ accepted: 1, rejected: [] });
    const accepted = await servedVisitor();
    await postEvents({ consent: both, events: [conversion(accepted.id, accepted.decisionId)] });
    expect(await eventually(async () => (await convertedCampaigns(accepted.id)).includes("spring-shoes"))).toBe(true);
    expect(await convertedCampaigns(refused.id)).toEqual([]);
  });
});
