// The log queue's consumer, driven directly with generated batches (test/worker/pipeline-harness.ts)
// against the real local D1: exactly-once writes through failures and redelivery, dead letters,
// the seams for the aggregates and the lake.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { chunkMessages, consumeLog, type BatchIds, type ConsumerDeps, type DeadLetter } from "../../worker/pipeline/consume.ts";
import { consumeDeadLetters, RETRIES_EXHAUSTED } from "../../worker/pipeline/dead-letters.ts";
import { decodeLogBody, logMessageSchema, MAX_MESSAGE_BYTES, messageBytes, splitIntoMessages } from "../../worker/pipeline/messages.ts";
import { consumerDeps } from "../../worker/pipeline/wire.ts";
import type { AuditRecord } from "../../worker/audit/record.ts";
import { eraseVisitorKey, erasureTargets } from "../../worker/erasure/erase.ts";
import type { StoredEvent } from "../../worker/events/schema.ts";
import { ADMIN } from "./audit-fixtures.ts";
import { call } from "./helpers.ts";
import { decisionRecord, drain, eventRecord, flakyDb, messageBatch, type Delivery } from "./pipeline-harness.ts";

const count = (sql: string, ...binds: unknown[]) => env.DB.prepare(sql).bind(...binds).first<number>("n");

function deps(over: Partial<ConsumerDeps> = {}): ConsumerDeps & { letters: DeadLetter[] } {
  const letters: DeadLetter[] = [];
  return { db: env.DB, deadLetters: { send: async (body: unknown) => void letters.push(body as DeadLetter) }, now: () => 1_764_000_000_000, letters, ...over } as never;
}

describe("the log consumer under failures", () => {
  it("stores 100,000 events and their 20,000 decisions exactly once while D1 fails before and after commits", { timeout: 600_000 }, async () => {
    const DECISIONS = 20_000;
    const EVENTS = 100_000;
    const deliveries: Delivery[] = [];
    // Messages as the producers send them: a decide request's records, an events request's batch.
    for (let m = 0; m < DECISIONS / 20; m++) {
      const records = Array.from({ length: 20 }, (_, i) => decisionRecord(`exo-d-${m * 20 + i}`, m * 20 + i));
      deliveries.push({ id: `dm-${m}`, body: { v: 1, kind: "decisions", records }, attempts: 1 });
      const events = Array.from({ length: 100 }, (_, i) => {
        const n = m * 100 + i;
        return eventRecord(`exo-e-${n}`, `exo-d-${n % DECISIONS}`, n);
      });
      deliveries.push({ id: `em-${m}`, body: { v: 1, kind: "events", records: events }, attempts: 1 });
    }
    // Every 3rd write fails before touching D1; every 5th commits and then fails (the consumer
    // cannot tell it committed, so the batch comes back).
    const db = flakyDb(env.DB, (n) => (n % 3 === 1 ? "before" : n % 5 === 2 ? "after" : undefined));
    const seen: BatchIds[] = [];
    const d = deps({ db, extraStatements: (_db, ids) => (seen.push(ids), []) });
    const { dead, redeliveries } = await drain(deliveries, (batch) => consumeLog(batch, d));

    expect(dead).toEqual([]);
    expect(redeliveries).toBeGreaterThan(100);
    expect(d.letters).toEqual([]);
    expect(await count("SELECT COUNT(*) AS n FROM decisions WHERE decision_id LIKE 'exo-d-%'")).toBe(DECISIONS);
    expect(await count("SELECT COUNT(*) AS n FROM events WHERE id LIKE 'exo-e-%'")).toBe(EVENTS);
    // Each event's decision is there, and the stored values are the sent ones.
    expect(await count("SELECT COUNT(*) AS n FROM events e JOIN decisions d ON d.decision_id = e.decision_id WHERE e.id LIKE 'exo-e-%'")).toBe(EVENTS);
    expect(await count("SELECT COUNT(*) AS n FROM events WHERE id LIKE 'exo-e-%' AND type = 'conversion'")).toBe(EVENTS / 4);
    const value = await env.DB.prepare("SELECT value, currency FROM events WHERE id = 'exo-e-6'").first();
    expect(value).toEqual({ value: 6.5, currency: "EUR" });
    // The aggregates' seam saw every id (some more than once: redelivered batches).
    expect(new Set(seen.flatMap((s) => s.eventIds)).size).toBe(EVENTS);
    expect(new Set(seen.flatMap((s) => s.decisionIds)).size).toBe(DECISIONS);

    // Delivering everything once more changes nothing.
    await drain(deliveries.slice(0, 50), (batch) => consumeLog(batch, deps()));
    expect(await count("SELECT COUNT(*) AS n FROM events WHERE id LIKE 'exo-e-%'")).toBe(EVENTS);
  });

  it("retries a batch as long as D1 fails, then dead-letters it (bounded retries)", async () => {
    const db = flakyDb(env.DB, () => "before");
    const body = { v: 1, kind: "events", records: [eventRecord("exo-never", "d", 1)] };
    const { dead, batches } = await drain([{ id: "never", body, attempts: 1 }], (batch) => consumeLog(batch, deps({ db })), { maxRetries: 5 });
    expect(batches).toBe(6);
    expect(dead.map((x) => x.id)).toEqual(["never"]);
    expect(await count("SELECT COUNT(*) AS n FROM events WHERE id = 'exo-never'")).toBe(0);
  });
});

describe("messages that do not fit the schema", () => {
  it("go to the dead-letter queue with their error; the others of the batch are written", async () => {
    const good = { v: 1, kind: "events", records: [eventRecord("exo-good-1", "d-good", 1)] };
    const goodDecision = { v: 1, kind: "decisions", records: [decisionRecord("exo-good-d", 2)] };
    const bad = [
      { v: 2, kind: "events", records: good.records },
      { v: 1, kind: "events", records: [{ ...eventRecord("exo-bad-1", "d", 1), visitorKey: "raw-visitor-id" }] },
      { v: 1, kind: "clicks", records: [] },
      "not json at all",
      '{"v":1,"kind":"events","records":[', // JSON text cut short
    ];
    const d = deps();
    const { batch, outcome } = messageBatch("nextbest-log", [
      // As the producer sends it: the message's JSON text.
      { id: "g1", body: JSON.stringify(good), attempts: 1 },
      ...bad.map((body, i) => ({ id: `b${i}`, body, attempts: 1 })),
      { id: "g2", body: goodDecision, attempts: 1 },
    ]);
    expect(await consumeLog(batch, d)).toEqual({ written: 2, deadLettered: 5, retried: 0 });
    expect([...outcome.values()].every((o) => o === "ack")).toBe(true);
    expect(await count("SELECT COUNT(*) AS n FROM events WHERE id = 'exo-good-1'")).toBe(1);
    expect(await count("SELECT COUNT(*) AS n FROM decisions WHERE decision_id = 'exo-good-d'")).toBe(1);
    expect(await count("SELECT COUNT(*) AS n FROM events WHERE id = 'exo-bad-1'")).toBe(0);
    expect(d.letters.map((l) => l.sourceId)).toEqual(["b0", "b1", "b2", "b3", "b4"]);
    expect(d.letters[4]!.body).toBe(bad[4]); // text kept as sent, not quoted again
    expect(d.letters[1]!.error).toContain("visitorKey");
    expect(d.letters[1]!.records).toBe(1);

    // The dead-letter consumer keeps them in D1, once even if delivered twice, along with a
    // message Queues moved there after its retries.
    const exhausted = { id: "x1", body: good, attempts: 1 };
    const exhaustedText = { id: "x2", body: JSON.stringify(good), attempts: 1 };
    const dlq = [...d.letters.map((body, i) => ({ id: `l${i}`, body, attempts: 1 })), exhausted, exhaustedText];
    await drain([...dlq, ...dlq], (b) => consumeDeadLetters(b, { db: env.DB, now: () => Date.now() }), { queue: "nextbest-log-dlq", batchSize: 5 });
    expect(await count("SELECT COUNT(*) AS n FROM dead_letters WHERE source_id IN ('b0', 'b1', 'b2', 'b3', 'b4', 'x1', 'x2')")).toBe(7);
    expect(await env.DB.prepare("SELECT kind, records, error FROM dead_letters WHERE source_id = 'x1'").first()).toEqual({ kind: "events", records: 1, error: RETRIES_EXHAUSTED });
    expect(await env.DB.prepare("SELECT kind, records, error, body FROM dead_letters WHERE source_id = 'x2'").first()).toEqual({ kind: "events", records: 1, error: RETRIES_EXHAUSTED, body: JSON.stringify(good) });

    const health = await (await call("/admin/pipeline", { headers: ADMIN })).json<{ deadLetters: { count: number; latest: { sourceId: string; error: string }[] } }>();
    expect(health.deadLetters.count).toBeGreaterThanOrEqual(7);
    expect(health.deadLetters.latest.map((l) => l.sourceId)).toEqual(expect.arrayContaining(["b1", "x1"]));
    expect(health.deadLetters.latest.find((l) => l.sourceId === "b1")!.error).toContain("visitorKey");
  });
});

describe("a full batch of large decisions", () => {
  const model = "m-chunks@1";
  const big = (n: number) => {
    const r = decisionRecord(`chunk-d-${n}`, n);
    r.modelVersion = model;
    r.candidates = Array.from({ length: 50 }, (_, i) => `block-number-${i}`);
    r.featureNames = Array.from({ length: 16 }, (_, i) => `feature_${i}`);
    r.features = r.candidates.map((_, i) => Array.from({ length: 16 }, (_, j) => Math.sin(i * 16 + j + n)));
    r.scores = r.candidates.map((_, i) => (1 + Math.cos(i + n)) / 2);
    return r;
  };
  // Messages as full as the producer sends them: 6 of these decisions (~18 KB each) are ~110 KB,
  // under the 120 KB a message may take.
  const message = (m: number): Delivery => ({ id: `chunk-m-${m}`, body: { v: 1, kind: "decisions", records: Array.from({ length: 6 }, (_, i) => big(m * 6 + i)) }, attempts: 1 });
  const featureN = () => count("SELECT SUM(n) AS n FROM agg_features WHERE model = ? AND feature = 'feature_3'", model);
  const d = () => {
    const { afterCommit: _lake, ...wired } = consumerDeps(env);
    return { ...wired, deadLetters: deps().deadLetters };
  };

  it("is written in chunks under D1's 2 MB string limit, each decision stored and folded once", { timeout: 120_000 }, async () => {
    // In one transaction the drift rows bound as JSON were over 2 MB and D1 refused the whole
    // batch (SQLITE_TOOBIG), so it was retried and dead-lettered.
    const deliveries = Array.from({ length: 100 }, (_, m) => message(m));
    expect(chunkMessages(deliveries.map((x) => ({ log: x.body as never, bytes: JSON.stringify(x.body).length }))).length).toBeGreaterThan(4);
    const { batch, outcome } = messageBatch("nextbest-log", deliveries);
    expect(await consumeLog(batch, d())).toMatchObject({ written: 600, deadLettered: 0, retried: 0 });
    expect([...outcome.values()].every((o) => o === "ack")).toBe(true);
    expect(await count("SELECT COUNT(*) AS n FROM decisions WHERE decision_id LIKE 'chunk-d-%' AND agg_applied = 1")).toBe(600);
    // Every candidate's features folded once: n per feature = 600 decisions × 50 candidates.
    expect(await featureN()).toBe(600 * 50);

    // Half redelivered, half new: each chunk mixes stored and new decisions, so the per-decision
    // fold runs, its JSON over 1,000,000 characters split across statements; new ones fold once.
    const mixed = messageBatch("nextbest-log", [...deliveries.slice(0, 50), ...Array.from({ length: 50 }, (_, m) => message(100 + m))]);
    expect(await consumeLog(mixed.batch, d())).toMatchObject({ written: 600, deadLettered: 0, retried: 0 });
    expect(await featureN()).toBe(900 * 50);
  });

  it("a chunk that fails is retried while the others are written and counted", { timeout: 120_000 }, async () => {
    const deliveries = Array.from({ length: 40 }, (_, m) => message(1000 + m));
    const stats = async () => (await (await call("/admin/pipeline", { headers: ADMIN })).json<{ batches: number; stored: { decisions: number }; writeFailures: { count: number } }>());
    const before = await stats();
    // The second chunk's write fails; the counts' write after the chunks succeeds.
    const db = flakyDb(env.DB, (n) => (n === 1 ? "before" : undefined));
    const { batch, outcome } = messageBatch("nextbest-log", deliveries);
    const result = await consumeLog(batch, { ...d(), db });
    const retried = deliveries.filter((x) => outcome.get(x.id) === "retry");
    expect(retried.length).toBeGreaterThan(0);
    expect(retried.length).toBeLessThan(deliveries.length);
    expect(result).toMatchObject({ written: (deliveries.length - retried.length) * 6, retried: retried.length });
    const after = await stats();
    expect(after.stored.decisions - before.stored.decisions).toBe(result.written);
    expect(after.batches - before.batches).toBe(1);
    expect(after.writeFailures.count - before.writeFailures.count).toBe(1);
    // Redelivered, the retried messages are stored; nothing twice.
    await consumeLog(messageBatch("nextbest-log", retried).batch, d());
    expect(await count("SELECT COUNT(*) AS n FROM decisions WHERE decision_id LIKE 'chunk-d-%' AND CAST(substr(decision_id, 9) AS INTEGER) >= 6000")).toBe(240);
  });
});

describe("the seams of the aggregates and the lake", () => {
  const body = (id: string) => ({ v: 1, kind: "events", records: [eventRecord(id, "d-seam", 1)] });

  it("extra statements run in the batch's transaction: if one fails nothing is written and the batch is retried", async () => {
    const d = deps({ extraStatements: (db) => [db.prepare("INSERT INTO no_such_table VALUES (1)")] });
    const { batch, outcome } = messageBatch("nextbest-log", [{ id: "s1", body: body("exo-seam-1"), attempts: 1 }]);
    expect(await consumeLog(batch, d)).toMatchObject({ written: 0, retried: 1 });
    expect(outcome.get("s1")).toBe("retry");
    expect(await count("SELECT COUNT(*) AS n FROM events WHERE id = 'exo-seam-1'")).toBe(0);
  });

  it("afterCommit runs once the rows are committed; its failure is counted, not retried", async () => {
    let visible: number | null = null;
    const d = deps({
      afterCommit: async ({ now }) => {
        visible = await count("SELECT COUNT(*) AS n FROM events WHERE id = 'exo-seam-2'");
        expect(now).toBe(1_764_000_000_000);
        throw new Error("lake unavailable");
      },
    });
    const { batch, outcome } = messageBatch("nextbest-log", [{ id: "s2", body: body("exo-seam-2"), attempts: 1 }]);
    await consumeLog(batch, d);
    expect(visible).toBe(1);
    expect(outcome.get("s2")).toBe("ack");
    const health = await (await call("/admin/pipeline", { headers: ADMIN })).json<{ afterCommitFailures: { count: number; lastError: string } }>();
    expect(health.afterCommitFailures).toMatchObject({ count: expect.any(Number), lastError: "lake unavailable" });
    expect(health.afterCommitFailures.count).toBeGreaterThan(0);
  });
});

describe("splitting records into queue messages", () => {
  it("keeps each message under the 128 KB limit with 50 candidates × 16 features per decision", () => {
    const big = (n: number) => {
      const r = decisionRecord(`big-${n}`, n);
      r.candidates = Array.from({ length: 50 }, (_, i) => `block-number-${i}`);
      r.featureNames = Array.from({ length: 16 }, (_, i) => `feature_${i}`);
      r.features = r.candidates.map((_, i) => Array.from({ length: 16 }, (_, j) => Math.sin(i * 16 + j + n)));
      r.scores = r.candidates.map((_, i) => Math.cos(i + n));
      return r;
    };
    const records = Array.from({ length: 12 }, (_, n) => big(n));
    const { messages, oversized } = splitIntoMessages("decisions", records);
    expect(oversized).toEqual([]);
    expect(messages.length).toBeGreaterThan(1);
    for (const m of messages) {
      // The size measured while packing is the size of the text sent, and under the limit.
      expect(m.bytes).toBe(new TextEncoder().encode(m.body).byteLength);
      expect(m.bytes).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
      expect(messageBytes(decodeLogBody(m.body))).toBe(m.bytes);
    }
    const decoded = messages.map((m) => logMessageSchema.parse(decodeLogBody(m.body)));
    expect(decoded.map((m) => m.records.length)).toEqual(messages.map((m) => m.count));
    expect(decoded.flatMap((m): unknown[] => m.records)).toEqual(records);

    // Sizes are UTF-8 bytes, not characters: 30,000 "€" are 90,000 bytes, so two such records
    // cannot share a message although their text is under the limit in characters.
    const euros = (n: number) => ({ ...decisionRecord(`euro-${n}`, n), page: "€".repeat(30_000) });
    const split = splitIntoMessages("decisions", [euros(1), euros(2)]);
    expect(split.messages.map((m) => m.count)).toEqual([1, 1]);
    for (const m of split.messages) expect(m.bytes).toBe(new TextEncoder().encode(m.body).byteLength);

    const huge = { ...big(99), page: "x".repeat(MAX_MESSAGE_BYTES) };
    expect(splitIntoMessages("decisions", [records[0]!, huge]).oversized).toEqual([huge]);
  });
});

describe("records of a visitor erased while they were in the queue", () => {
  it("are not stored nor folded when they arrive after the erasure; records decided after it are", async () => {
    const key = "e7a5ed".padEnd(32, "0");
    const d = () => {
      const { afterCommit: _lake, ...wired } = consumerDeps(env);
      return { ...wired, deadLetters: deps().deadLetters };
    };
    const decision = (id: string, time: number) => ({ ...decisionRecord(id, 1), visitorKey: key, time });
    const event = (id: string, decisionId: string, time: number) => ({ ...eventRecord(id, decisionId, 2), type: "click" as const, visitorKey: key, time });
    const deliver = (id: string, decisions: AuditRecord[], events: StoredEvent[]) =>
      consumeLog(
        messageBatch("nextbest-log", [
          { id: `${id}-d`, body: { v: 1, kind: "decisions", records: decisions }, attempts: 1 },
          { id: `${id}-e`, body: { v: 1, kind: "events", records: events }, attempts: 1 },
        ]).batch,
        d(),
      );
    const stored = async () => ({
      decisions: (await env.DB.prepare("SELECT decision_id FROM decisions WHERE visitor_key = ? ORDER BY 1").bind(key).all<{ decision_id: string }>()).results.map((r) => r.decision_id),
      events: (await env.DB.prepare("SELECT id FROM events WHERE visitor_key = ? ORDER BY 1").bind(key).all<{ id: string }>()).results.map((r) => r.id),
      exposures: await count("SELECT COALESCE(SUM(decisions), 0) AS n FROM agg_exposures WHERE visitor_key = ? AND experiment = 'universal'", key),
      outcomes: await count("SELECT COALESCE(SUM(events), 0) AS n FROM agg_visitor_days WHERE visitor_key = ?", key),
    });

    // Consumed before the erasure: stored, then erased with the rest.
    const start = Date.now() - 60_000;
    await deliver("er-1", [decision("er-d1", start)], [event("er-e1", "er-d1", start + 1)]);
    expect(await stored()).toEqual({ decisions: ["er-d1"], events: ["er-e1"], exposures: 1, outcomes: 1 });
    expect(await eraseVisitorKey(key, erasureTargets(env))).toMatchObject({ complete: true, removed: { decisions: 1, events: 1 } });
    expect(await stored()).toEqual({ decisions: [], events: [], exposures: 0, outcomes: 0 });

    // Decided before the erasure but consumed after it (they were in the queue): dropped. Decided
    // after it (the visitor came back and consented): stored and folded.
    const later = Date.now() + 60_000;
    const result = await deliver("er-2", [decision("er-d2", start + 2), decision("er-d3", later)], [event("er-e2", "er-d2", start + 3), event("er-e3", "er-d3", later + 1)]);
    expect(result).toMatchObject({ written: 4, retried: 0, deadLettered: 0 });
    expect(await stored()).toEqual({ decisions: ["er-d3"], events: ["er-e3"], exposures: 1, outcomes: 1 });
    // Redelivered, nothing changes.
    await deliver("er-2", [decision("er-d2", start + 2), decision("er-d3", later)], [event("er-e2", "er-d2", start + 3), event("er-e3", "er-d3", later + 1)]);
    expect(await stored()).toEqual({ decisions: ["er-d3"], events: ["er-e3"], exposures: 1, outcomes: 1 });
  });
});
