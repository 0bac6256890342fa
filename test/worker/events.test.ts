import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { eventId, ingestEvents } from "../../worker/events/ingest.ts";
import { EVENTS_MAX_BYTES, MAX_EVENTS_PER_BATCH, splitBatches } from "../../worker/events/limits.ts";
import { memoryEventStore } from "../../worker/events/store.ts";
import { visitorKey } from "../../worker/visitor/key.ts";
import { call } from "./helpers.ts";

interface Answer {
  accepted: number;
  duplicates: number;
  rejected: { index: number; code: string; message: string }[];
}

const consent = { analytics: true };

function post(body: unknown, type = "application/json"): Promise<Response> {
  return call("/v1/events", { method: "POST", headers: { "content-type": type }, body: typeof body === "string" ? body : JSON.stringify(body) });
}

/** Events reach D1 through the log queue after the answer: waits until `n` are stored. */
async function storedN(visitorId: string, n: number): Promise<Awaited<ReturnType<typeof stored>>> {
  for (let i = 0; i < 600; i++) {
    const rows = await stored(visitorId);
    if (rows.length >= n) return rows;
    await new Promise((r) => setTimeout(r, 100));
  }
  return stored(visitorId);
}

async function stored(visitorId: string): Promise<{ id: string; type: string; name: string | null; decision_id: string | null; value: number | null; currency: string | null }[]> {
  const { results } = await env.DB.prepare("SELECT * FROM events WHERE visitor_key = ? ORDER BY type, id").bind(await visitorKey(visitorId)).all();
  return results as never;
}

describe("POST /v1/events", () => {
  it("accepts the spec's batch with 202 and stores it under the visitor key", async () => {
    const res = await post({
      consent,
      events: [
        { type: "impression", decisionId: "d-spec", visitorId: "ev-spec" },
        { type: "click", decisionId: "d-spec", visitorId: "ev-spec" },
        { type: "conversion", decisionId: "d-spec", visitorId: "ev-spec", value: 12.5, currency: "EUR" },
        { type: "custom", name: "newsletter_signup", visitorId: "ev-spec" },
      ],
    });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ accepted: 4, duplicates: 0, rejected: [] });
    const rows = await storedN("ev-spec", 4);
    expect(rows.map((r) => [r.type, r.name, r.value, r.currency])).toEqual([
      ["click", null, null, null],
      ["conversion", null, 12.5, "EUR"],
      ["custom", "newsletter_signup", null, null],
      ["impression", null, null, null],
    ]);
    const all = JSON.stringify(await env.DB.prepare("SELECT * FROM events").all());
    expect(all).not.toContain("ev-spec");
  });

  it("stores each event once: a resent event, a repeated client eventId, a repeat inside one batch", async () => {
    const click = { type: "click", decisionId: "d-dup", visitorId: "ev-dup" };
    const first = await (await post({ consent, events: [click, { ...click, type: "impression" }] })).json<Answer>();
    expect(first).toMatchObject({ accepted: 2, duplicates: 0 });
    await storedN("ev-dup", 2);
    // The same content again (a retried beacon): derived ids match, so it is stored once. The
    // request path does not read D1, so the answer accepts it; the consumer drops the copy.
    expect(await (await post({ consent, events: [click] })).json<Answer>()).toMatchObject({ accepted: 1, duplicates: 0 });
    // Client ids: the same id twice is one event, even with other content; distinct ids are two.
    const conv = { type: "conversion", visitorId: "ev-dup", value: 10 };
    const byId = await (await post({ consent, events: [{ ...conv, eventId: "o-1" }, { ...conv, eventId: "o-1", value: 11 }, { ...conv, eventId: "o-2" }] })).json<Answer>();
    expect(byId).toMatchObject({ accepted: 2, duplicates: 1 });
    expect((await storedN("ev-dup", 4)).length).toBe(4);
  });

  it("scopes client event ids to the visitor", async () => {
    const e = (visitorId: string) => ({ type: "conversion", visitorId, eventId: "order-1", value: 5 });
    const res = await (await post({ consent, events: [e("ev-scope-a"), e("ev-scope-b")] })).json<Answer>();
    expect(res).toMatchObject({ accepted: 2, duplicates: 0 });
  });

  it("keeps the valid events of a mixed batch and says why each bad one was refused", async () => {
    const res = await post({
      consent,
      events: [
        { type: "click", decisionId: "d-mix", visitorId: "ev-mix" },
        { type: "purchase", visitorId: "ev-mix" },
        { type: "click", visitorId: "ev-mix" },
        { type: "conversion", visitorId: "ev-mix", value: -3 },
        { type: "custom", visitorId: "ev-mix" },
        "not an object",
        { type: "conversion", visitorId: "ev-mix", value: 20, currency: "EUR", decisionId: "d-mix" },
      ],
    });
    expect(res.status).toBe(202);
    const body = await res.json<Answer>();
    expect(body.accepted).toBe(2);
    expect(body.rejected.map((r) => [r.index, r.code])).toEqual([
      [1, "invalid_event"],
      [2, "invalid_event"],
      [3, "invalid_event"],
      [4, "invalid_event"],
      [5, "invalid_event"],
    ]);
    expect(body.rejected[1]!.message).toContain("decisionId");
    expect(body.rejected[2]!.message).toContain("value");
    expect(body.rejected[3]!.message).toContain("name");
    expect((await storedN("ev-mix", 2)).length).toBe(2);
  });

  it("stores nothing and accepts nothing without analytics consent", async () => {
    const events = [{ type: "click", decisionId: "d-nc", visitorId: "ev-noconsent" }];
    for (const body of [{ events }, { events, consent: { analytics: false } }, { events: [{ ...events[0], consent: { analytics: false } }], consent }]) {
      const res = await post(body);
      expect(res.status).toBe(202);
      const answer = await res.json<Answer>();
      expect(answer).toMatchObject({ accepted: 0, duplicates: 0 });
      expect(answer.rejected).toEqual([{ index: 0, code: "no_consent", message: expect.any(String) }]);
    }
    // A per-event consent overrides the batch's.
    const res = await (await post({ events: [{ ...events[0], consent: { analytics: true } }] })).json<Answer>();
    expect(res.accepted).toBe(1);
    // That one is stored, and it is the only one: none of the refused ones was queued before it.
    expect((await storedN("ev-noconsent", 1)).length).toBe(1);
  });

  it("takes the same JSON as text/plain from navigator.sendBeacon", async () => {
    const res = await post(JSON.stringify({ consent, events: [{ type: "impression", decisionId: "d-beacon", visitorId: "ev-beacon" }] }), "text/plain;charset=UTF-8");
    expect(res.status).toBe(202);
    expect((await res.json<Answer>()).accepted).toBe(1);
  });

  it.each([
    { name: "every event bad", body: { consent, events: [{ type: "nope" }, {}] }, status: 400, code: "invalid_request" },
    { name: "no events", body: { consent, events: [] }, status: 400, code: "invalid_request" },
    { name: "101 events", body: { consent, events: Array.from({ length: 101 }, () => ({ type: "custom", name: "x", visitorId: "v" })) }, status: 400, code: "invalid_request" },
    { name: "events not a list", body: { consent, events: {} }, status: 400, code: "invalid_request" },
    { name: "malformed JSON", body: "{", status: 400, code: "invalid_json" },
    { name: "XML", body: "<x/>", type: "application/xml", status: 415, code: "unsupported_media_type" },
    { name: "a huge body", body: JSON.stringify({ events: [{ type: "custom", name: "x", visitorId: "v".repeat(200_000) }] }), status: 413, code: "payload_too_large" },
  ])("$name → $status $code", async ({ body, type, status, code }) => {
    const res = await post(body, type);
    expect(res.status).toBe(status);
    expect((await res.json<{ error: { code: string } }>()).error.code).toBe(code);
  });

  it("takes every batch the client splits (limits.ts, shared): 400 events with 64-character names, all accepted once", async () => {
    const visitorId = crypto.randomUUID();
    const events = Array.from({ length: 400 }, (_, n) => ({ type: "custom" as const, name: `promo_seen_${n}_`.padEnd(64, "x"), eventId: crypto.randomUUID(), visitorId }));
    const batches = splitBatches(events);
    expect(batches.map((b) => b.length)).toEqual([100, 100, 100, 100]);
    const answers = await Promise.all(batches.map(async (batch) => (await post(JSON.stringify({ consent, events: batch }), "text/plain")).json<Answer>()));
    expect(answers).toEqual(batches.map((b) => ({ accepted: b.length, duplicates: 0, rejected: [] })));
    expect(await storedN(visitorId, 400)).toHaveLength(400);
  });

  it(`takes a body of EVENTS_MAX_BYTES (${EVENTS_MAX_BYTES}) and ${MAX_EVENTS_PER_BATCH} events, not a byte or an event more`, async () => {
    const body = (events: number, bytes: number) => {
      const text = JSON.stringify({ consent, events: Array.from({ length: events }, (_, n) => ({ type: "custom", name: "limit", eventId: `limit-${n}`, visitorId: "ev-limit" })), pad: "" });
      return text.replace('"pad":""', `"pad":"${"x".repeat(bytes - text.length)}"`);
    };
    expect((await post(body(MAX_EVENTS_PER_BATCH, EVENTS_MAX_BYTES))).status).toBe(202);
    expect((await post(body(MAX_EVENTS_PER_BATCH, EVENTS_MAX_BYTES + 1))).status).toBe(413);
    expect((await post(body(MAX_EVENTS_PER_BATCH + 1, EVENTS_MAX_BYTES))).status).toBe(400);
  });

  it("answers CORS preflights (beacons and fetch from any site)", async () => {
    const res = await call("/v1/events", { method: "OPTIONS", headers: { origin: "https://shop.example", "access-control-request-method": "POST" } });
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
  });
});

describe("ingestEvents with the in-memory store", () => {
  it("uses the injected clock and derives ids deterministically", async () => {
    const store = memoryEventStore();
    const event = { type: "click" as const, decisionId: "d", visitorId: "v" };
    await ingestEvents({ consent, events: [event] }, { store, now: () => 42 });
    const key = await visitorKey("v");
    expect(store.events).toEqual([
      { id: await eventId(key, event), time: 42, type: "click", name: null, decisionId: "d", visitorKey: key, blockId: null, slot: null, value: null, currency: null },
    ]);
    expect(await eventId(key, event)).not.toBe(await eventId(key, { ...event, decisionId: "e" }));
  });

  it("tells apart events that differ only by their page category (two product views)", async () => {
    const store = memoryEventStore();
    const view = (category?: string) => ({ type: "custom" as const, name: "product_view", visitorId: "v-cat", ...(category ? { category } : {}) });
    const result = await ingestEvents({ consent, events: [view("shoes"), view("bags"), view("shoes"), view()] }, { store, now: () => 42 });
    expect(result).toMatchObject({ accepted: 3, duplicates: 1 });
    expect(new Set(store.events.map((e) => e.id)).size).toBe(3);
    const key = await visitorKey("v-cat");
    // Without a category the id is what it was before categories were part of it.
    expect(await eventId(key, view())).toBe(await eventId(key, { ...view(), category: undefined }));
  });
});
