// The log path end to end in workerd: decide and events answer at once and their records reach D1
// through the real local queue and consumer; a failing queue never fails a request; bad input is
// never queued.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createApp } from "../../worker/app.ts";
import type { DecideResponse } from "../../worker/decide/schema.ts";
import { queueAuditSink, queueEventStore, queueLogProducer, type SentTally } from "../../worker/pipeline/producer.ts";
import { decodeLogBody, logMessageSchema, type LogMessage } from "../../worker/pipeline/messages.ts";
import { visitorKey } from "../../worker/visitor/key.ts";
import { ADMIN } from "./audit-fixtures.ts";
import { call, postDecide, TREATED } from "./helpers.ts";

/** Polls until `check` holds; the consumer batches for up to a second, the machine may be slow. */
async function eventually(check: () => Promise<boolean>, deadlineMs = 60_000): Promise<boolean> {
  const until = Date.now() + deadlineMs;
  while (Date.now() < until) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

interface Health {
  sent: { decisions: number; events: number };
  stored: { decisions: number; events: number };
  duplicates: { decisions: number; events: number };
  lost: { decisions: number; events: number; lastError: string | null };
  lastBatchAt: number | null;
  backlog: { decisions: number; events: number };
}
const health = async () => (await call("/admin/pipeline", { headers: ADMIN })).json<Health>();
const shoes = (visitorId: string) => ({ visitorId, slots: ["hero", "sidebar"], consent: { personalization: true, analytics: true }, context: { signals: { pageCategory: "shoes" } } });
const postEvents = (body: unknown) => call("/v1/events", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

describe("through the queue", () => {
  it("a decision reaches the audit log after the answer", async () => {
    const id = `${TREATED[0]}-queue`;
    const before = await health();
    const { decisions } = await (await postDecide(shoes(id))).json<DecideResponse>();
    const listed = async () => (await (await call(`/admin/decisions?visitor=${id}`, { headers: ADMIN })).json<{ decisions: { decisionId: string }[] }>()).decisions;
    expect(await eventually(async () => (await listed()).length === 2)).toBe(true);
    expect((await listed()).map((d) => d.decisionId).sort()).toEqual(decisions.map((d) => d.decisionId).sort());
    const h = await health();
    expect(h.stored.decisions).toBeGreaterThanOrEqual(2);
    expect(h.lastBatchAt).toBeGreaterThan(0);
    // The producer's sent count reaches D1 too (tallied per isolate, written within a second).
    expect(await eventually(async () => (await health()).sent.decisions >= before.sent.decisions + 2)).toBe(true);
  });

  it("events are stored once; resent after they are stored they are accepted, counted as duplicates by the consumer and not stored again", async () => {
    const events = [
      { type: "impression", decisionId: "d-queue", visitorId: "ev-queue" },
      { type: "click", decisionId: "d-queue", visitorId: "ev-queue" },
      { type: "click", decisionId: "d-queue", visitorId: "ev-queue" },
    ];
    expect(await (await postEvents({ consent: { analytics: true }, events })).json()).toEqual({ accepted: 2, duplicates: 1, rejected: [] });
    const key = await visitorKey("ev-queue");
    const stored = () => env.DB.prepare("SELECT COUNT(*) AS n FROM events WHERE visitor_key = ?").bind(key).first<number>("n");
    expect(await eventually(async () => (await stored()) === 2)).toBe(true);
    const before = await health();
    // No D1 read on the request path: only the repeat within the batch is known there.
    expect(await (await postEvents({ consent: { analytics: true }, events })).json()).toEqual({ accepted: 2, duplicates: 1, rejected: [] });
    expect(await eventually(async () => (await health()).duplicates.events >= before.duplicates.events + 2)).toBe(true);
    expect(await stored()).toBe(2);
    const after = await health();
    expect(after.stored.events).toBe(before.stored.events);
  });
});

/** A queue that records what it is given, or fails every send. */
function fakeQueue(fail?: string) {
  const sent: LogMessage[] = [];
  const queue = {
    async send(body: unknown, options?: { contentType?: string }) {
      if (fail) throw new Error(fail);
      expect([options?.contentType, typeof body]).toEqual(["text", "string"]);
      sent.push(logMessageSchema.parse(decodeLogBody(body)) as LogMessage);
    },
    async sendBatch(messages: Iterable<{ body: unknown; contentType?: string }>) {
      if (fail) throw new Error(fail);
      // The producer sends each body as the JSON text it measured; the consumer parses it.
      for (const m of messages) {
        expect([m.contentType, typeof m.body]).toEqual(["text", "string"]);
        sent.push(logMessageSchema.parse(decodeLogBody(m.body)) as LogMessage);
      }
    },
  };
  return { queue: queue as unknown as Queue, sent };
}

/** The app with its log producer on `queue`, and a request run to completion (waitUntil included). */
async function withQueue(queue: Queue, path: string, body: unknown): Promise<Response> {
  const ctx = createExecutionContext();
  const tally: SentTally = { pending: {}, lastFlush: 0, flushing: false };
  const app = createApp((e) => {
    const producer = queueLogProducer(queue, e.DB, { now: Date.now, tally });
    return { audit: queueAuditSink(producer), events: queueEventStore(producer, (w) => ctx.waitUntil(w)) };
  });
  const res = await app.fetch(new Request(`http://nextbest.test${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }), env, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

describe("the producer", () => {
  it("a failing queue never fails a valid request: the loss is counted and reported", async () => {
    const { queue } = fakeQueue("Queue nextbest-log is full");
    const before = await health();
    const res = await withQueue(queue, "/v1/decide", shoes(`${TREATED[1]}-lost`));
    expect(res.status).toBe(200);
    expect((await res.json<DecideResponse>()).decisions).toHaveLength(2);
    const events = await withQueue(queue, "/v1/events", { consent: { analytics: true }, events: [{ type: "click", decisionId: "d-lost", visitorId: "ev-lost" }] });
    expect(events.status).toBe(202);
    expect(await events.json()).toMatchObject({ accepted: 1 });
    const after = await health();
    expect(after.lost.decisions - before.lost.decisions).toBe(2);
    expect(after.lost.events - before.lost.events).toBe(1);
    expect(after.lost.lastError).toContain("full");
  });

  it("bad input is answered 4xx and never queued; valid records are queued in the message schema", async () => {
    const { queue, sent } = fakeQueue();
    expect((await withQueue(queue, "/v1/decide", { visitorId: "", slots: [] })).status).toBe(400);
    expect((await withQueue(queue, "/v1/events", { consent: { analytics: true }, events: [{ type: "nope" }] })).status).toBe(400);
    expect((await withQueue(queue, "/v1/events", { events: [{ type: "click", decisionId: "d", visitorId: "no-consent" }] })).status).toBe(202);
    expect(sent).toEqual([]);

    await withQueue(queue, "/v1/decide", shoes(`${TREATED[2]}-schema`));
    await withQueue(queue, "/v1/events", { consent: { analytics: true }, events: [{ type: "click", decisionId: "d-schema", visitorId: "ev-schema" }] });
    expect(sent.map((m) => [m.v, m.kind, m.records.length])).toEqual([
      [1, "decisions", 2],
      [1, "events", 1],
    ]);
    expect(JSON.stringify(sent)).not.toContain("ev-schema"); // visitors only by key
  });
});
