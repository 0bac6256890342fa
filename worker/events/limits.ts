/**
 * The limits of `POST /v1/events`, in one module shared by the Worker, which enforces them
 * (schema.ts, route.ts), and the browser client, which splits its queue to fit them
 * (client/events.ts, with splitBatches). It imports nothing and uses only what browsers and
 * Workers both have, so the script-tag bundle can include it.
 */

/** Most events one request may carry. */
export const MAX_EVENTS_PER_BATCH = 100;

/**
 * Largest request body, bytes. 64 KiB is what a page may have in flight in keepalive requests,
 * `navigator.sendBeacon` and `fetch(…, { keepalive: true })` together (Fetch Standard,
 * "HTTP-network-or-cache fetch": over it, `inflightKeepaliveBytes` makes a network error): a
 * larger batch could never leave as the page is hidden, so the Worker takes no more either.
 */
export const EVENTS_MAX_BYTES = 64 * 1024;

/**
 * Splits events, in order, into batches `POST /v1/events` takes: at most MAX_EVENTS_PER_BATCH
 * events and EVENTS_MAX_BYTES bytes of UTF-8 JSON each (64 bytes kept for the envelope
 * `{"events":[…],"consent":{"analytics":true}}`). An event too large on its own goes alone (and is
 * refused).
 */
export function splitBatches<T>(events: T[]): T[][] {
  const batches: T[][] = [];
  let bytes = EVENTS_MAX_BYTES;
  let batch: T[] = [];
  for (const event of events) {
    const size = new Blob([JSON.stringify(event)]).size + 1;
    if ((bytes += size) > EVENTS_MAX_BYTES || batch.length >= MAX_EVENTS_PER_BATCH) batches.push((batch = [])), (bytes = 64 + size);
    batch.push(event);
  }
  return batches;
}
