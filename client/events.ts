// The event queue: events wait in memory and leave in one batch when the page is hidden
// (`navigator.sendBeacon`, which survives the page; `fetch` with keepalive where it is refused).
// Offline, they go to IndexedDB instead and are sent on the next page load or when the browser
// is back online. Every event has an `eventId` chosen once, so a batch sent twice is counted once.
// The caller only queues events with analytics consent.
import type { UseStore } from "idb-keyval";
import { clearQueue, defaultStore, queueEvents, readQueue } from "./storage.ts";
import type { NextbestEvent } from "./types.ts";

export interface EventQueue {
  /** Queues an event; offline, it is stored at once. */
  push(event: NextbestEvent): void;
  /** Sends what waits (or stores it, offline). Called when the page is hidden. */
  flush(): void;
  /** Sends events stored offline; resolves when done (never rejects). */
  drain(): Promise<void>;
  /** Drops waiting events (analytics consent was withdrawn; storage.ts deletes the stored ones). */
  clear(): void;
}

/**
 * POSTs `body` as JSON, without cookies, and alive after the page is gone. As `text/plain` (the
 * default, which `/v1/events` takes) a cross-origin request stays "simple": no CORS preflight,
 * which beacons cannot make.
 */
export function postJson(fetchImpl: typeof fetch, url: string, body: unknown, type = "text/plain"): Promise<Response> {
  return fetchImpl(url, { method: "POST", body: JSON.stringify(body), keepalive: true, credentials: "omit", headers: { "content-type": type } });
}

/**
 * Creates the page's event queue for `{endpoint}/v1/events`. `store` should not reject (the
 * client's forgives unavailable storage): a failed write of the offline queue is not retried.
 */
export function createEventQueue(endpoint: string, win: Window = window, store: UseStore = defaultStore, fetchImpl: typeof fetch = fetch): EventQueue {
  const url = `${endpoint}/v1/events`;
  const nav = win.navigator;
  const offline = () => nav.onLine === false;
  const batch = (events: NextbestEvent[]) => ({ events, consent: { analytics: true } });
  const keep = (events: NextbestEvent[]) => queueEvents(events, store);
  let waiting: NextbestEvent[] = [];

  function flush(): void {
    const events = waiting.splice(0);
    if (!events.length) return;
    if (offline()) return void keep(events);
    if (!nav.sendBeacon(url, JSON.stringify(batch(events)))) postJson(fetchImpl, url, batch(events)).catch(() => keep(events));
  }

  return {
    push(event) {
      waiting.push(event);
      if (offline()) flush();
    },
    flush,
    async drain() {
      try {
        const queued = await readQueue(store);
        // A 4xx will not get better by resending; a 5xx might.
        if (queued.length && !offline() && (await postJson(fetchImpl, url, batch(queued))).status < 500) await clearQueue(store);
      } catch {
        // Still offline, or storage unavailable: they stay queued.
      }
    },
    clear() {
      waiting = [];
    },
  };
}
