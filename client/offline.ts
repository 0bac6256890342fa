// The offline event queue, an optional part (nb-extras.js, see extras.ts): events the browser
// could not send — offline, or a beacon it refused — wait in IndexedDB and are sent again on the
// next page or when the browser is back online. storage.ts keeps the newest MAX_QUEUED_EVENTS and
// counts the dropped ones. Until nb-extras.js has loaded (nb.js starts loading it at once), the
// event queue waits for it; if it cannot load, such events are lost, as they are without storage.
import type { UseStore } from "idb-keyval";
import { queueEvents, readQueue, unqueueEvents } from "./storage.ts";
import type { NextbestEvent } from "./types.ts";

/** Where unsent events wait (events.ts). */
export interface OfflineEvents {
  /** Adds events to the stored queue. */
  keep(events: NextbestEvent[]): Promise<void>;
  /** The stored events, oldest first (empty if none or unreadable). */
  read(): Promise<NextbestEvent[]>;
  /** Removes events that were sent (by `eventId`). */
  remove(sent: NextbestEvent[]): Promise<void>;
}

/** The offline queue in `store` (the client's store, which forgives unavailable storage). */
export function offlineEvents(store: UseStore): OfflineEvents {
  return { keep: (events) => queueEvents(events, store), read: () => readQueue(store), remove: (sent) => unqueueEvents(sent, store) };
}
