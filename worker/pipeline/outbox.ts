/**
 * The log producer's outbox, one per isolate and queue: records of requests that finish close
 * together share queue messages instead of each request sending its own.
 *
 * Why: every decide used to send one message of its two audit records (~16 KB). Queues bill and
 * limit per message and per 64 KB written (https://developers.cloudflare.com/queues/platform/pricing/),
 * a consumer batch holds at most 100 messages, and locally every send is an HTTP request to
 * wrangler's queue broker on the Worker's own thread. Filling messages up to the 128 KB limit
 * cuts all three.
 *
 * How, without a record ever depending on a request that may end first: the first request that
 * adds records to an empty outbox *opens* it and, inside its own `waitUntil`, waits `lingerMs`,
 * then takes everything and sends it. Requests that add records meanwhile return at once; the
 * opener's `waitUntil` keeps the isolate alive until their records are sent (a Worker is not
 * evicted while a request's `waitUntil` runs). A request whose records fill the outbox to a full
 * send takes everything and sends it itself. No request awaits a promise another request
 * resolves.
 */
import type { LogKind, SerialisedRecord } from "./messages.ts";

/** Records waiting in one isolate for the next send to one queue. */
export interface Outbox {
  records: Record<LogKind, SerialisedRecord[]>;
  /** UTF-8 bytes of `records`. */
  bytes: number;
  /** True while an opener waits to take the records. */
  open: boolean;
  /** When the outbox was opened, ms. */
  openedAt: number;
}

/** What a request takes from the outbox and sends. */
export type Taken = Record<LogKind, SerialisedRecord[]>;

/** An empty outbox. */
export function newOutbox(): Outbox {
  return { records: { decisions: [], events: [] }, bytes: 0, open: false, openedAt: 0 };
}

function takeAll(box: Outbox): Taken {
  const taken = box.records;
  box.records = { decisions: [], events: [] };
  box.bytes = 0;
  return taken;
}

/**
 * An opener gone for this long past its linger (its request was cancelled before its timer
 * fired, e.g. at the CPU limit, or its Durable Object was reset) no longer holds the outbox: the
 * next request opens it again, so records never wait for a full send.
 */
export const STALE_OPENER_MS = 1_000;

/**
 * Adds serialised records of `kind` and says what the calling request must send, if anything:
 * - the records reach `fullBytes` (a full `sendBatch`): everything, at once;
 * - the outbox was empty and closed: this request opens it, waits `lingerMs` on its own timer,
 *   and takes everything then (possibly nothing, if a full outbox was taken meanwhile);
 * - otherwise null: the opener will send them (unless it is stale: STALE_OPENER_MS).
 * No request resolves or cancels another's promise or timer: workerd ends a request whose only
 * pending work belongs to another request ("Promise will never complete").
 *
 * @param lingerMs how long the opener waits for other requests' records, ms (≤ 0: no wait)
 * @param fullBytes bytes after which the records are sent without waiting
 */
export async function addToOutbox(box: Outbox, kind: LogKind, items: SerialisedRecord[], lingerMs: number, fullBytes: number, now: () => number = Date.now): Promise<Taken | null> {
  box.records[kind].push(...items);
  for (const item of items) box.bytes += item.bytes;
  if (box.bytes >= fullBytes || lingerMs <= 0) return takeAll(box);
  if (box.open && now() - box.openedAt < lingerMs + STALE_OPENER_MS) return null;
  // A second opener beside a stale one is harmless: taking is one synchronous swap.
  box.open = true;
  const opened = (box.openedAt = now());
  try {
    await new Promise<void>((resolve) => setTimeout(resolve, lingerMs));
  } finally {
    // Only the current opener closes the outbox (a stale one may wake after a new one opened).
    if (box.openedAt === opened) box.open = false;
  }
  return takeAll(box);
}
