// The producer's outbox (worker/pipeline/outbox.ts): records of requests that finish close together
// share queue messages; only the request that opened the outbox waits, and it sends everything.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { decodeLogBody, logMessageSchema, type LogMessage } from "../../worker/pipeline/messages.ts";
import { newOutbox, STALE_OPENER_MS, type Outbox } from "../../worker/pipeline/outbox.ts";
import { queueLogProducer, type SentTally } from "../../worker/pipeline/producer.ts";
import { ADMIN } from "./audit-fixtures.ts";
import { call } from "./helpers.ts";
import { decisionRecord, eventRecord } from "./pipeline-harness.ts";

/** A queue that records each call: `send` (one message) or `sendBatch` (several). */
function recordingQueue() {
  const calls: { method: "send" | "sendBatch"; messages: LogMessage[] }[] = [];
  const parse = (body: unknown, contentType?: string) => {
    expect([contentType, typeof body]).toEqual(["text", "string"]);
    return logMessageSchema.parse(decodeLogBody(body)) as LogMessage;
  };
  const queue = {
    async send(body: unknown, options?: { contentType?: string }) {
      calls.push({ method: "send", messages: [parse(body, options?.contentType)] });
    },
    async sendBatch(messages: Iterable<{ body: unknown; contentType?: string }>) {
      calls.push({ method: "sendBatch", messages: [...messages].map((m) => parse(m.body, m.contentType)) });
    },
  };
  return { queue: queue as unknown as Queue, calls };
}

const producer = (queue: Queue, lingerMs: number, outbox: Outbox = newOutbox()) => {
  // `flushing` keeps the sent counts pending (as while another request writes them), so the test
  // can read what was counted.
  const tally: SentTally = { pending: {}, lastFlush: 0, flushing: true };
  return { tally, log: queueLogProducer(queue, env.DB, { now: Date.now, tally, lingerMs, outbox }) };
};

describe("the producer's outbox", () => {
  it("sends the records of requests that finish together in one message; only the first request waits for it", async () => {
    const { queue, calls } = recordingQueue();
    const { log, tally } = producer(queue, 30);
    const order: string[] = [];
    const first = log.send("decisions", [decisionRecord("ob-1", 1), decisionRecord("ob-2", 2)]).then(() => order.push(`first:${calls.length}`));
    const second = log.send("decisions", [decisionRecord("ob-3", 3)]).then(() => order.push(`second:${calls.length}`));
    const events = log.send("events", [eventRecord("ob-e1", "ob-1", 1)]).then(() => order.push(`events:${calls.length}`));
    await Promise.all([first, second, events]);
    // The later requests returned before anything was sent; the opener after both kinds were.
    expect(order).toEqual(["second:0", "events:0", "first:2"]);
    expect(calls.map((c) => [c.method, c.messages.map((m) => [m.kind, m.records.length])])).toEqual([
      ["send", [["decisions", 3]]],
      ["send", [["events", 1]]],
    ]);
    expect(calls[0]!.messages[0]!.records.map((r) => (r as { decisionId: string }).decisionId)).toEqual(["ob-1", "ob-2", "ob-3"]);
    expect(tally.pending).toEqual({ decisions_sent: 3, events_sent: 1 });

    // The next request after a send opens the outbox again.
    await log.send("decisions", [decisionRecord("ob-4", 4)]);
    expect(calls).toHaveLength(3);
  });

  it("with no linger every request sends its own records at once", async () => {
    const { queue, calls } = recordingQueue();
    const { log } = producer(queue, 0);
    await Promise.all([log.send("decisions", [decisionRecord("ob0-1", 1)]), log.send("decisions", [decisionRecord("ob0-2", 2)])]);
    expect(calls.map((c) => c.messages.map((m) => m.records.length))).toEqual([[1], [1]]);
  });

  it("a request whose records fill the outbox sends everything at once, split under the message limit", async () => {
    const { queue, calls } = recordingQueue();
    const { log } = producer(queue, 1_000);
    const big = (n: number) => ({ ...decisionRecord(`ob-big-${n}`, n), page: `https://shop.test/${"p".repeat(1900)}`, features: Array.from({ length: 50 }, (_, i) => Array.from({ length: 16 }, (_, j) => Math.sin(n + i * 16 + j))), candidates: Array.from({ length: 50 }, (_, i) => `block-${i}`), scores: Array.from({ length: 50 }, (_, i) => Math.cos(n + i)) });
    const [opener, ...others] = Array.from({ length: 40 }, (_, n) => log.send("decisions", [big(n)]));
    await Promise.all(others);
    const records = () => calls.flatMap((c) => c.messages).reduce((n, m) => n + m.records.length, 0);
    // Before the opener's linger ended, the requests that filled the outbox sent what it held.
    const early = records();
    expect(early).toBeGreaterThan(20);
    expect(early).toBeLessThan(40);
    expect(calls.some((c) => c.method === "sendBatch" && c.messages.length > 1)).toBe(true);
    await opener;
    expect(records()).toBe(40);
  });

  it("an opener that never came back (its request cancelled) does not hold the outbox", async () => {
    const { queue, calls } = recordingQueue();
    const box = newOutbox();
    box.open = true;
    box.openedAt = Date.now() - 20 - STALE_OPENER_MS - 1;
    const { log } = producer(queue, 20, box);
    await log.send("events", [eventRecord("ob-stale", "d", 1)]);
    expect(calls.map((c) => c.messages[0]!.records.length)).toEqual([1]);
  });

  it("when the opener's send fails, every request's records it carried are counted lost", async () => {
    const failing = { send: async () => { throw new Error("Queue nextbest-log is full (outbox test)"); }, sendBatch: async () => { throw new Error("Queue nextbest-log is full (outbox test)"); } } as unknown as Queue;
    const lost = async () => (await (await call("/admin/pipeline", { headers: ADMIN })).json<{ lost: { decisions: number; lastError: string } }>()).lost;
    const before = await lost();
    const { log } = producer(failing, 20);
    await Promise.all([log.send("decisions", [decisionRecord("ob-l1", 1)]), log.send("decisions", [decisionRecord("ob-l2", 2), decisionRecord("ob-l3", 3)])]);
    const after = await lost();
    expect(after.decisions - before.decisions).toBe(3);
    expect(after.lastError).toContain("outbox test");
  });
});
