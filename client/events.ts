// The event queue: events wait in memory and leave when the page is hidden (`navigator.sendBeacon`,
// which survives the page; `fetch` with keepalive where it is refused), or at once when a full
// batch is waiting. What leaves is split into requests the Worker takes (worker/events/limits.ts,
// shared with it). What the browser refuses (its 64 KiB in flight are taken), and everything while
// offline, goes to IndexedDB and is sent a moment later, on the next page load or when the browser
// is back online. Every event has an `eventId` chosen once, so an event sent twice is counted once.
// The caller only queues events with analytics consent.
import { MAX_EVENTS_PER_BATCH, splitBatches } from "../worker/events/limits.ts";
import type { OfflineEvents } from "./offline.ts";
import type { NextbestEvent } from "./types.ts";

/** How long after the browser refused a batch the stored events are sent again, ms. */
export const RETRY_MS = 1000;

export interface EventQueue {
  /** Queues an event; offline, it is stored at once; with a full batch waiting, it leaves. */
  push(event: NextbestEvent): void;
  /** Sends what waits (or stores it, offline). Called when the page is hidden. */
  flush(): void;
  /** Sends events stored in IndexedDB, one drain at a time; resolves when done (never rejects). */
  drain(): Promise<void>;
  /** Drops waiting events (analytics consent was withdrawn; storage.ts deletes the stored ones). */
  clear(): void;
}

/**
 * POSTs `body` as JSON, without cookies, and alive after the page is gone. As `text/plain` (the
 * default, which `/v1/events` takes) a cross-origin request stays "simple": no CORS preflight,
 * which beacons cannot make. A fetch that throws (a keepalive over quota) rejects instead.
 */
export async function postJson(fetchImpl: typeof fetch, url: string, body: unknown, type = "text/plain"): Promise<Response> {
  return fetchImpl(url, { method: "POST", body: JSON.stringify(body), keepalive: true, credentials: "omit", headers: { "content-type": type } });
}

/**
 * Creates the page's event queue for `{endpoint}/v1/events`. `stored` gives the offline queue
 * (offline.ts; nb.js gets it from nb-extras.js); without it, events that cannot leave are lost. A
 * failed write of the offline queue is not retried.
 */
export function createEventQueue(endpoint: string, win: Window = window, stored?: () => Promise<OfflineEvents>, fetchImpl: typeof fetch = fetch): EventQueue {
  const url = `${endpoint}/v1/events`;
  const nav = win.navigator;
  const offline = () => nav.onLine === false;
  const batch = (events: NextbestEvent[]) => ({ events, consent: { analytics: true } });
  const keep = (events: NextbestEvent[]) => (stored ? stored().then((queue) => queue.keep(events)) : Promise.resolve()).catch(() => undefined);
  let waiting: NextbestEvent[] = [];
  let draining: Promise<void> | undefined;

  function flush(): void {
    for (const events of splitBatches(waiting.splice(0))) {
      if (offline()) void keep(events);
      else if (!nav.sendBeacon(url, JSON.stringify(batch(events)))) {
        postJson(fetchImpl, url, batch(events)).catch(() => keep(events).then(() => setTimeout(drain, RETRY_MS)));
      }
    }
  }

  async function sendQueued(): Promise<void> {
    try {
      const queue = await stored?.();
      for (const events of splitBatches((await queue?.read()) ?? [])) {
        // A 4xx will not get better by resending; a 5xx might.
        if (offline() || (await postJson(fetchImpl, url, batch(events))).status > 499) return;
        await queue!.remove(events);
      }
    } catch {
      // Still offline, or storage unavailable: they stay queued.
    }
  }

  // One drain at a time, so overlapping ones never send the same stored events twice.
  const drain = () => (draining ??= sendQueued().finally(() => (draining = undefined)));

  return {
    push(event) {
      if (waiting.push(event) >= MAX_EVENTS_PER_BATCH || offline()) flush();
    },
    flush,
    drain,
    clear() {
      waiting = [];
    },
  };
}
