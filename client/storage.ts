// Everything nextbest keeps in the browser, through idb-keyval. Consent rules (SPEC "Instrument"):
// the consent answer is stored once the visitor gives one; the visitor id and session state
// only with personalization consent, and they are deleted when that consent is refused.
import { createStore, del, delMany, get, set, type UseStore } from "idb-keyval";
import { isSessionState, type SessionState } from "./session.ts";
import type { Consent } from "./types.ts";

/** The consent answer. */
export const CONSENT_KEY = "nb:consent";
/** The first-party visitor id. */
export const VISITOR_KEY = "nb:visitor";
/** The session signals (SessionState). */
export const SESSION_KEY = "nb:session";

/**
 * idb-keyval's own database and object store names, so the keys are where a developer looking
 * at idb-keyval data expects them. The database is opened lazily, on the first read.
 */
export const defaultStore: UseStore = createStore("keyval-store", "keyval");

/** A stored consent answer. */
export interface StoredConsent extends Consent {
  /** Epoch milliseconds of the answer. */
  updatedAt: number;
}

/** The stored consent answer, or undefined when the visitor has not answered (or it is unreadable). */
export async function readConsent(store: UseStore = defaultStore): Promise<StoredConsent | undefined> {
  const stored = await get<StoredConsent>(CONSENT_KEY, store);
  if (typeof stored?.personalization !== "boolean" || typeof stored.analytics !== "boolean") return undefined;
  return stored;
}

/**
 * Stores a consent answer. Refusing personalization deletes the visitor id and session state
 * in the same call, so nothing personal outlives the refusal.
 */
export async function saveConsent(consent: Consent, store: UseStore = defaultStore, now: () => number = Date.now): Promise<void> {
  const answer: StoredConsent = {
    personalization: consent.personalization === true,
    analytics: consent.analytics === true,
    updatedAt: now(),
  };
  if (!answer.personalization) await forgetVisitor(store);
  await set(CONSENT_KEY, answer, store);
}

/** Deletes the visitor id and session state (not the consent answer). */
export function forgetVisitor(store: UseStore = defaultStore): Promise<void> {
  return delMany([VISITOR_KEY, SESSION_KEY], store);
}

/** Deletes everything nextbest stored, the consent answer included. */
export function forgetAll(store: UseStore = defaultStore): Promise<void> {
  return forgetVisitor(store).then(() => del(CONSENT_KEY, store));
}

/**
 * The stored visitor id, created on first use. Only call with personalization consent.
 */
export async function ensureVisitorId(store: UseStore = defaultStore, newId: () => string = () => crypto.randomUUID()): Promise<string> {
  const stored = await get<unknown>(VISITOR_KEY, store);
  if (typeof stored === "string" && stored) return stored;
  const visitorId = newId();
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
