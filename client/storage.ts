// Everything nextbest keeps in the browser, through idb-keyval. Consent rules (the product's "Instrument" step):
// nothing is written, and no database created, before the visitor answers; an answer that grants
// no purpose is not stored either (it refuses device storage); a granting answer is stored; the
// visitor id and session state only with personalization consent, the offline event queue only
// with analytics consent; each is deleted when its consent is withdrawn.
import { createStore, delMany, get, promisifyRequest, set, update, type UseStore } from "idb-keyval";
import { MAX_EVENTS_PER_BATCH } from "../worker/events/limits.ts";
import { isSessionState, type SessionState } from "./session.ts";
import { toConsent } from "./consent.ts";
import type { Consent, ConsentSource, NextbestEvent } from "./types.ts";

/** The consent answer. */
export const CONSENT_KEY = "nb:consent";
/** The first-party visitor id. */
export const VISITOR_KEY = "nb:visitor";
/** The session signals (SessionState). */
export const SESSION_KEY = "nb:session";
/** Events that could not be sent (offline, or refused by the browser). */
export const QUEUE_KEY = "nb:queue";

/**
 * The most events kept in the queue (five `POST /v1/events` batches); beyond it the oldest are
 * dropped and counted by a DROPPED_EVENT in their place.
 */
export const MAX_QUEUED_EVENTS = 5 * MAX_EVENTS_PER_BATCH;

/**
 * Name of the custom event that reports, in the queue and then to the Worker like any event, how
 * many older events the queue dropped (its `value`), so no loss goes unseen.
 */
export const DROPPED_EVENT = "nextbest.dropped";

/** idb-keyval's own database name, so the keys are where a developer looking at idb-keyval data expects them. */
export const DB_NAME = "keyval-store";

/** idb-keyval's default database and object store. Opening it creates it: see `safeStore`. */
export const defaultStore: UseStore = createStore(DB_NAME, "keyval");

/**
 * Whether nextbest's database exists, found without opening (and so creating) it, through
 * `indexedDB.databases()` (Chromium 71, Safari 14, Firefox 126). Rejects where that is missing
 * or storage is denied; the client then works without storage. An opaque origin (a sandboxed
 * iframe) never has storage, and there Chromium's `databases()` also leaves an unhandled
 * rejection in the console, so it is not asked.
 */
export async function databaseExists(idb: IDBFactory = indexedDB, origin: string = self.origin): Promise<boolean> {
  if (origin === "null") throw new TypeError(origin);
  return (await idb.databases()).some(({ name }) => name === DB_NAME);
}

/**
 * `store` made safe for the page: it never throws, never rejects, never stalls and is not
 * created by a read.
 * - A read (`readonly`) opens the database only if `exists()` finds it; otherwise it gives
 *   undefined. A write creates it (the client writes only with consent).
 * - Any failure — a synchronous throw (IndexedDB in a sandboxed iframe throws a SecurityError),
 *   a rejection, or no answer within `timeoutMs` (an open that is blocked or never answers) —
 *   makes storage unavailable for the rest of the page: from then on reads give undefined and
 *   writes are dropped at once, so nothing waits twice.
 */
export function safeStore(store: UseStore, exists: () => Promise<boolean>, timeoutMs: number): UseStore {
  let failed = false;
  let found: Promise<boolean> | undefined;
  return (mode, callback) =>
    Promise.race([
      (async () => {
        if (failed) return;
        if (mode === "readwrite") found = Promise.resolve(true);
        else if (!(await (found ??= exists()))) return;
        return store(mode, callback);
      })(),
      new Promise((_, reject) => setTimeout(reject, timeoutMs)),
    ]).catch(() => void (failed = true)) as never;
}

/** A stored consent answer. */
export interface StoredConsent extends Consent {
  source: ConsentSource;
  /** Epoch milliseconds of the answer. */
  updatedAt: number;
}

/** The stored consent answer, or undefined when the visitor has not answered (or it is unreadable). */
export async function readConsent(store: UseStore = defaultStore): Promise<StoredConsent | undefined> {
  const stored = await get<StoredConsent>(CONSENT_KEY, store);
  if (typeof stored?.personalization !== "boolean") return undefined;
  // Answers stored before marketing and sources existed: no marketing, the site's answer.
  return { ...stored, ...toConsent(stored), source: stored.source ?? "site" };
}

/**
 * Stores a consent answer. Refusing personalization deletes the visitor id and session state,
 * refusing analytics the offline event queue, so nothing outlives its consent.
 */
export async function saveConsent(
  consent: Partial<Consent> & { source?: ConsentSource },
  store: UseStore = defaultStore,
  now: () => number = Date.now,
): Promise<void> {
  const answer: StoredConsent = { ...toConsent(consent), source: consent.source ?? "site", updatedAt: now() };
  await delMany([...(answer.personalization ? [] : [VISITOR_KEY, SESSION_KEY]), ...(answer.analytics ? [] : [QUEUE_KEY])], store);
  await set(CONSENT_KEY, answer, store);
}

/** Deletes the visitor id and session state (not the consent answer). */
export function forgetVisitor(store: UseStore = defaultStore): Promise<void> {
  return delMany([VISITOR_KEY, SESSION_KEY], store);
}

/** Deletes everything nextbest stored, the consent answer and queued events included. */
export function forgetAll(store: UseStore = defaultStore): Promise<void> {
  return delMany([VISITOR_KEY, SESSION_KEY, QUEUE_KEY, CONSENT_KEY], store);
}

/** The stored visitor id, or undefined. */
export async function readVisitorId(store: UseStore = defaultStore): Promise<string | undefined> {
  const stored = await get<unknown>(VISITOR_KEY, store);
  return typeof stored === "string" && stored ? stored : undefined;
}

/**
 * The stored visitor id, created on first use. Only call with personalization consent.
 * `preferred` (the edge's nb_vid cookie) wins over a stored id: the page and the edge then
 * decide and measure for one visitor.
 */
export async function ensureVisitorId(store: UseStore = defaultStore, newId: () => string = () => crypto.randomUUID(), preferred?: string): Promise<string> {
  const stored = await readVisitorId(store);
  if (stored && (!preferred || stored === preferred)) return stored;
  const visitorId = preferred ?? newId();
  await set(VISITOR_KEY, visitorId, store);
  return visitorId;
}

/** The stored session state, or undefined if there is none or it is malformed. */
export async function readSession(store: UseStore = defaultStore): Promise<SessionState | undefined> {
  const stored = await get<unknown>(SESSION_KEY, store);
  return isSessionState(stored) ? stored : undefined;
}

/** Stores the session state. Only call with personalization consent. */
export function saveSession(state: SessionState, store: UseStore = defaultStore): Promise<void> {
  return set(SESSION_KEY, state, store);
}

/**
 * Changes the queue in one transaction (so concurrent changes never lose each other's events);
 * an empty queue is deleted.
 */
function changeQueue(change: (queued: NextbestEvent[]) => NextbestEvent[], store: UseStore): Promise<void> {
  return store("readwrite", (s) => {
    const read = s.get(QUEUE_KEY);
    read.onsuccess = () => {
      const queue = change(read.result ?? []);
      queue.length ? s.put(queue, QUEUE_KEY) : s.delete(QUEUE_KEY);
    };
    return promisifyRequest(s.transaction);
  });
}

/**
 * Adds events to the queue, atomically, keeping the newest MAX_QUEUED_EVENTS: the oldest are
 * replaced by one DROPPED_EVENT counting them (an earlier count among them adds up). Only call
 * with analytics consent.
 */
export function queueEvents(events: NextbestEvent[], store: UseStore = defaultStore): Promise<void> {
  return changeQueue((queued) => {
    const all = [...queued, ...events];
    const over = all.length - MAX_QUEUED_EVENTS;
    // all[0..over] go; a count already there is all[0] (the queue only grows at its end).
    const value = over + (all[0]?.name === DROPPED_EVENT ? all[0].value! : 1);
    return over > 0 ? [{ type: "custom", name: DROPPED_EVENT, value, eventId: `dropped:${all[over]!.eventId}`, visitorId: all[over]!.visitorId }, ...all.slice(over + 1)] : all;
  }, store);
}

/** Removes sent events from the queue (by `eventId`; events queued meanwhile stay). */
export function unqueueEvents(sent: NextbestEvent[], store: UseStore = defaultStore): Promise<void> {
  return changeQueue((queued) => queued.filter((e) => !sent.some((s) => s.eventId === e.eventId)), store);
}

/** The queued events (an empty list if none or unreadable). */
export async function readQueue(store: UseStore = defaultStore): Promise<NextbestEvent[]> {
  return (await get<NextbestEvent[]>(QUEUE_KEY, store)) ?? [];
}

/** Deletes the whole queue. */
export function clearQueue(store: UseStore = defaultStore): Promise<void> {
  return delMany([QUEUE_KEY], store);
}
