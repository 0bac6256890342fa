/**
 * The producer side of the log pipeline: decide, proxy mode and `POST /v1/events` hand their
 * records to the log queue from `ctx.waitUntil`, after the answer. Sending never throws: records
 * the queue refuses (down, full, over its limits) are counted as lost, with the error, in
 * `pipeline_stats`, and the request that produced them has already been answered.
 */
import type { AuditRecord, AuditSink } from "../audit/record.ts";
import type { Defer } from "../decide/run.ts";
import type { StoredEvent } from "../events/schema.ts";
import type { EventStore } from "../events/store.ts";
import { LOG_KINDS, packMessages, serialiseRecords, type LogKind, type PackedMessage, type SerialisedRecord } from "./messages.ts";
import { addToOutbox, newOutbox, type Outbox } from "./outbox.ts";
import { addStats, type StatName } from "./stats.ts";

/**
 * Limits of one `sendBatch` call: 100 messages and 256 KB in all
 * (https://developers.cloudflare.com/queues/platform/limits/), with a margin.
 */
const SEND_BATCH_MESSAGES = 100;
const SEND_BATCH_BYTES = 240_000;

/** Per-isolate tally of records sent, written to D1 at most once per `flushEveryMs`. */
export interface SentTally {
  pending: Partial<Record<StatName, number>>;
  lastFlush: number;
  flushing: boolean;
  /** A send is waiting for the interval to pass before flushing (one per isolate). */
  scheduled?: boolean;
}

const isolateTally: SentTally = { pending: {}, lastFlush: 0, flushing: false };

/** Sends records of one kind to the log queue; resolves when sent or counted as lost. */
export interface LogProducer {
  send(kind: "decisions", records: AuditRecord[]): Promise<void>;
  send(kind: "events", records: StoredEvent[]): Promise<void>;
}

export interface ProducerOptions {
  now: () => number;
  /** How often an isolate writes its sent counts to D1, ms. */
  flushEveryMs?: number;
  /** Injected by tests; production uses one tally per isolate. */
  tally?: SentTally;
  /**
   * How long the first request after a send waits for other requests' records to share its
   * messages, ms (worker/pipeline/outbox.ts); default LOG_LINGER_MS, 0 sends every request's
   * records at once.
   */
  lingerMs?: number;
  /** Injected by tests; production uses one outbox per isolate and queue. */
  outbox?: Outbox;
}

/**
 * Default linger, ms: long enough for a few concurrent requests' records to share a message,
 * short against the seconds a decision may take to reach the admin views (budget 10 s).
 */
export const LOG_LINGER_MS = 20;

const isolateOutboxes = new WeakMap<Queue, Outbox>();
/** This isolate's outbox for `queue` (a test's queue gets its own). */
function isolateOutbox(queue: Queue): Outbox {
  let box = isolateOutboxes.get(queue);
  if (!box) isolateOutboxes.set(queue, (box = newOutbox()));
  return box;
}

/** Messages grouped under the limits of one `sendBatch`, by the sizes measured when packed. */
function groups(messages: PackedMessage[]): PackedMessage[][] {
  const out: PackedMessage[][] = [];
  let current: PackedMessage[] = [];
  let size = 0;
  for (const m of messages) {
    if (current.length && (current.length === SEND_BATCH_MESSAGES || size + m.bytes > SEND_BATCH_BYTES)) {
      out.push(current);
      current = [];
      size = 0;
    }
    current.push(m);
    size += m.bytes;
  }
  if (current.length) out.push(current);
  return out;
}

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * The production producer: records are packed into messages under the size limit and sent in
 * as few `sendBatch` calls as the limits allow, each body as its JSON text. The consumer
 * validates every message.
 */
export function queueLogProducer(queue: Queue, db: D1Database, options: ProducerOptions): LogProducer {
  const tally = options.tally ?? isolateTally;
  const flushEveryMs = options.flushEveryMs ?? 1000;
  const lingerMs = options.lingerMs ?? LOG_LINGER_MS;
  const outbox = options.outbox ?? isolateOutbox(queue);

  /**
   * Writes the tallied counts, at most once per `flushEveryMs`. Within the interval one send per
   * isolate waits it out (inside its `waitUntil`, after the answer) and flushes then, so the last
   * counts before a quiet spell are not left behind.
   */
  async function flushSent(): Promise<void> {
    if (tally.flushing || tally.scheduled || !Object.keys(tally.pending).length) return;
    const wait = tally.lastFlush + flushEveryMs - options.now();
    if (wait > 0) {
      tally.scheduled = true;
      await new Promise((r) => setTimeout(r, wait));
      tally.scheduled = false;
      if (tally.flushing || !Object.keys(tally.pending).length) return;
    }
    const now = options.now();
    const pending = tally.pending;
    tally.pending = {};
    tally.flushing = true;
    tally.lastFlush = now;
    try {
      await db.batch(addStats(db, pending, now));
    } catch (err) {
      // Counts are an estimate: put them back for the next flush rather than lose them.
      for (const [name, n] of Object.entries(pending) as [StatName, number][]) tally.pending[name] = (tally.pending[name] ?? 0) + n;
      console.error("pipeline: writing sent counts failed:", errorText(err));
    } finally {
      tally.flushing = false;
    }
  }

  /** Sends one kind's records in as few messages and calls as the limits allow; counts what is lost. */
  async function deliver(kind: LogKind, items: SerialisedRecord[]): Promise<void> {
    let lost = 0;
    let error: string | undefined;
    for (const group of groups(packMessages(kind, items))) {
      const count = group.reduce((n, m) => n + m.count, 0);
      try {
        // One message goes by `send`: locally `sendBatch` wraps every body in base64 inside a JSON
        // envelope that wrangler's queue broker parses and validates again (about a third of the
        // queue's cost per decide, measured with `npm run profile -- all`).
        if (group.length === 1) await queue.send(group[0]!.body, { contentType: "text" });
        else await queue.sendBatch(group.map((m) => ({ body: m.body, contentType: "text" as const })));
        tally.pending[`${kind}_sent`] = (tally.pending[`${kind}_sent`] ?? 0) + count;
      } catch (err) {
        lost += count;
        error = errorText(err);
      }
    }
    if (lost) await countLost(kind, lost, error!);
  }

  async function countLost(kind: LogKind, lost: number, error: string): Promise<void> {
    console.error(`pipeline: ${lost} ${kind} record(s) lost: ${error}`);
    try {
      await db.batch(addStats(db, { [`${kind}_lost`]: lost }, options.now(), error));
    } catch (err) {
      console.error("pipeline: counting the loss failed:", errorText(err));
    }
  }

  async function send(kind: LogKind, records: (AuditRecord | StoredEvent)[]): Promise<void> {
    if (!records.length) return;
    // Each record is serialised once, to measure it. The records were built by this Worker from
    // validated input, so they are not checked again here: that cost would be paid on every
    // request's isolate, while the consumer checks every message anyway (logMessageSchema) and
    // sends one that does not fit to the dead-letter queue with its error.
    // Bodies go as the JSON text already measured ("text"), so the runtime does not serialise
    // them again; the consumer parses them (decodeLogBody) before its schema check.
    const { items, oversized } = serialiseRecords(kind, records);
    if (oversized.length) await countLost(kind, oversized.length, `${oversized.length} record(s) larger than a queue message`);
    if (items.length) {
      const taken = await addToOutbox(outbox, kind, items, lingerMs, SEND_BATCH_BYTES, options.now);
      if (taken) for (const k of LOG_KINDS) if (taken[k].length) await deliver(k, taken[k]);
    }
    await flushSent();
  }

  return { send } as LogProducer;
}

/** The audit log as a queue: `write` resolves once the records are queued (or counted lost). */
export function queueAuditSink(producer: LogProducer): AuditSink {
  return { write: (records) => producer.send("decisions", records) };
}

/**
 * Events through the queue, with nothing on the request path but the send (after the answer).
 * An event id repeated within the batch is a duplicate; an id already stored by an earlier
 * request is not looked up here — one read of the one D1 database per events request would make
 * D1 the ceiling of the event path at scale — so a resent event is answered as accepted and the
 * consumer's `INSERT OR IGNORE` stores it once (the aggregates and the lake follow the stored
 * rows, so it is counted once everywhere).
 */
export function queueEventStore(producer: LogProducer, defer: Defer): EventStore {
  return {
    async insert(batch) {
      const seen = new Set<string>();
      const flags = batch.map((e) => !seen.has(e.id) && !!seen.add(e.id));
      const toSend = batch.filter((_, i) => flags[i]);
      if (toSend.length) defer(producer.send("events", toSend));
      return flags;
    },
  };
}
