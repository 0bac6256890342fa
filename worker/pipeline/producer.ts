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
import { logMessageSchema, messageBytes, splitIntoMessages, type LogKind } from "./messages.ts";
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
}

function groups<T>(messages: T[]): T[][] {
  const out: T[][] = [];
  let current: T[] = [];
  let size = 0;
  for (const m of messages) {
    const n = messageBytes(m);
    if (current.length && (current.length === SEND_BATCH_MESSAGES || size + n > SEND_BATCH_BYTES)) {
      out.push(current);
      current = [];
      size = 0;
    }
    current.push(m);
    size += n;
  }
  if (current.length) out.push(current);
  return out;
}

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * The production producer. Every message is checked against the schema the consumer applies
 * (a record that does not fit would only be dead-lettered there) and split under the size limit.
 */
export function queueLogProducer(queue: Queue, db: D1Database, options: ProducerOptions): LogProducer {
  const tally = options.tally ?? isolateTally;
  const flushEveryMs = options.flushEveryMs ?? 1000;

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

  async function send(kind: LogKind, records: (AuditRecord | StoredEvent)[]): Promise<void> {
    if (!records.length) return;
    const { messages, oversized } = splitIntoMessages(kind, records);
    let lost = oversized.length;
    let error = oversized.length ? `${oversized.length} record(s) larger than a queue message` : undefined;
    const valid = messages.filter((m) => {
      const parsed = logMessageSchema.safeParse(m);
      if (parsed.success) return true;
      lost += m.records.length;
      error = `invalid ${kind} record: ${parsed.error.issues[0]?.message ?? "schema"}`;
      return false;
    });
    for (const group of groups(valid)) {
      const count = group.reduce((n, m) => n + m.records.length, 0);
      try {
        await queue.sendBatch(group.map((body) => ({ body, contentType: "json" as const })));
        tally.pending[`${kind}_sent`] = (tally.pending[`${kind}_sent`] ?? 0) + count;
      } catch (err) {
        lost += count;
        error = errorText(err);
      }
    }
    if (lost) {
      console.error(`pipeline: ${lost} ${kind} record(s) lost: ${error}`);
      try {
        await db.batch(addStats(db, { [`${kind}_lost`]: lost }, options.now(), error));
      } catch (err) {
        console.error("pipeline: counting the loss failed:", errorText(err));
      }
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
 * Events through the queue. Storage is asynchronous, so `insert` answers from what is known when
 * the request arrives: an event is a duplicate if its id repeats within the batch or is already
 * stored in D1 (one read, no write). The new ones are queued after the answer; the consumer's
 * `INSERT OR IGNORE` stores each id once whatever the timing, so an event resent before its first
 * copy reached D1 is counted as accepted twice but stored once.
 */
export function queueEventStore(producer: LogProducer, db: D1Database, defer: Defer): EventStore {
  return {
    async insert(batch) {
      const seen = new Set<string>();
      const fresh = batch.map((e) => !seen.has(e.id) && !!seen.add(e.id));
      const known = await storedEventIds(db, [...seen]);
      const flags = batch.map((e, i) => fresh[i]! && !known.has(e.id));
      const toSend = batch.filter((_, i) => flags[i]);
      if (toSend.length) defer(producer.send("events", toSend));
      return flags;
    },
  };
}

/** D1 binds at most 100 parameters per statement. */
const LOOKUP_CHUNK = 100;

/** The ids among `ids` already in the events table; empty (all new) if D1 cannot be read. */
async function storedEventIds(db: D1Database, ids: string[]): Promise<Set<string>> {
  const known = new Set<string>();
  try {
    for (let i = 0; i < ids.length; i += LOOKUP_CHUNK) {
      const chunk = ids.slice(i, i + LOOKUP_CHUNK);
      const { results } = await db.prepare(`SELECT id FROM events WHERE id IN (${chunk.map(() => "?").join(",")})`).bind(...chunk).all<{ id: string }>();
      for (const r of results) known.add(r.id);
    }
  } catch (err) {
    // Duplicates are then reported as accepted; the consumer still stores each id once.
    console.error("pipeline: looking up known event ids failed:", errorText(err));
  }
  return known;
}
