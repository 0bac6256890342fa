/**
 * A stand-in for Cloudflare Queues' delivery loop, to drive the log consumer directly: batches of
 * up to `batchSize` messages, a retried message delivered again later with `attempts + 1`, moved
 * to the dead letters after `maxRetries` retries (wrangler.toml semantics). Every message must be
 * settled explicitly (ack or retry) by the consumer.
 */
import type { AuditRecord } from "../../worker/audit/record.ts";
import type { StoredEvent } from "../../worker/events/schema.ts";
import { HASH_VERSION } from "../../worker/holdout/hash.ts";

export interface Delivery {
  id: string;
  body: unknown;
  attempts: number;
}

/** One batch as the consumer sees it, with what it decided for each message. */
export function messageBatch(queue: string, deliveries: Delivery[]) {
  const outcome = new Map<string, "ack" | "retry">();
  const messages = deliveries.map((d) => ({
    id: d.id,
    timestamp: new Date(0),
    body: d.body,
    attempts: d.attempts,
    ack: () => void outcome.set(d.id, "ack"),
    retry: () => void outcome.set(d.id, "retry"),
  }));
  const batch = {
    queue,
    messages,
    ackAll: () => messages.forEach((m) => m.ack()),
    retryAll: () => messages.forEach((m) => m.retry()),
  } as unknown as MessageBatch<unknown>;
  return { batch, outcome };
}

/** Delivers `pending` until every message is acked or dead; returns the dead ones and the batch count. */
export async function drain(
  pending: Delivery[],
  consume: (batch: MessageBatch<unknown>) => Promise<unknown>,
  { batchSize = 100, maxRetries = 5, queue = "nextbest-log" } = {},
): Promise<{ dead: Delivery[]; batches: number; redeliveries: number }> {
  const dead: Delivery[] = [];
  let batches = 0;
  let redeliveries = 0;
  const queueOf = [...pending];
  while (queueOf.length) {
    const take = queueOf.splice(0, batchSize);
    const { batch, outcome } = messageBatch(queue, take);
    batches++;
    try {
      await consume(batch);
    } catch {
      // A consumer that throws: Queues retries every message it did not ack.
      for (const d of take) if (!outcome.has(d.id)) outcome.set(d.id, "retry");
    }
    for (const d of take) {
      const o = outcome.get(d.id);
      if (!o) throw new Error(`message ${d.id} was neither acked nor retried`);
      if (o === "ack") continue;
      if (d.attempts > maxRetries) dead.push(d);
      else {
        redeliveries++;
        queueOf.push({ ...d, attempts: d.attempts + 1 });
      }
    }
  }
  return { dead, batches, redeliveries };
}

/** A D1 whose `batch` fails on chosen calls: before the write, or after it has committed. */
export function flakyDb(real: D1Database, fail: (call: number) => "before" | "after" | undefined): D1Database & { calls: number } {
  const db = {
    calls: 0,
    prepare: (query: string) => real.prepare(query),
    async batch(statements: D1PreparedStatement[]) {
      const mode = fail(db.calls++);
      if (mode === "before") throw new Error("injected: D1 unavailable");
      const results = await real.batch(statements);
      if (mode === "after") throw new Error("injected: connection lost after the commit");
      return results;
    },
  };
  return db as unknown as D1Database & { calls: number };
}

const hex32 = (n: number) => n.toString(16).padStart(32, "0");

/** A small but complete decision record. */
export function decisionRecord(id: string, n: number): AuditRecord {
  return {
    time: 1_764_000_000_000 + n,
    decisionId: id,
    visitorKey: hex32(n % 5000),
    slot: n % 2 ? "hero" : "sidebar",
    page: null,
    reason: "ranked",
    consent: { personalization: true, analytics: true },
    candidates: ["hero-shoes-trail", "hero-default"],
    excluded: [],
    featureNames: ["f0", "f1"],
    features: [
      [1, 0],
      [0, 1],
    ],
    scores: [0.75, 0.25],
    chosenBlockId: "hero-shoes-trail",
    propensity: 0.95,
    explored: false,
    holdout: false,
    holdoutScope: null,
    counterfactualBlockId: null,
    counterfactualCampaign: null,
    campaign: "spring",
    modelVersion: "m@1",
    arm: "champion",
    shadows: [],
    latencyMs: 1.25,
    hashVersion: HASH_VERSION,
  };
}

/** An event about decision `decisionId`. */
export function eventRecord(id: string, decisionId: string, n: number): StoredEvent {
  const types = ["impression", "click", "conversion", "custom"] as const;
  const type = types[n % 4]!;
  return {
    id,
    time: 1_764_000_000_000 + n,
    type,
    name: type === "custom" ? "scroll_75" : null,
    decisionId,
    visitorKey: hex32(n % 5000),
    blockId: "hero-shoes-trail",
    slot: "hero",
    value: type === "conversion" ? (n % 50) + 0.5 : null,
    currency: type === "conversion" ? "EUR" : null,
  };
}
