/**
 * The limits of `POST /v1/events`, in one module shared by the Worker, which enforces them
 * (schema.ts, route.ts), and the browser client, which splits its queue to fit them
 * (client/events.ts). It imports nothing, so the script-tag bundle can include it.
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
