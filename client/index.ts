// The ESM entry: the building blocks of the script-tag client, for bundlers and tests.
import { createNextbest as createClient, type Nextbest, type NextbestOptions } from "./client.ts";
import { parseBlock } from "./inert.ts";
import { offlineEvents } from "./offline.ts";

export { resolveEndpoint, STORAGE_TIMEOUT_MS, writeConsentCookie, CONSENT_COOKIE, NO_CONSENT, DECISIONS_EVENT, type Nextbest, type NextbestOptions } from "./client.ts";

/**
 * createNextbest (client.ts) with the inert block parser and the offline event queue bundled: it
 * renders and keeps unsent events without nb-extras.js.
 */
export const createNextbest = (options: NextbestOptions): Nextbest => createClient({ parse: async () => parseBlock, offline: async (store) => offlineEvents(store), ...options });
export { offlineEvents, type OfflineEvents } from "./offline.ts";
export { toConsent, withGpc } from "./consent.ts";
export { consentFromTcf, findTcfApi, listenTcf, TCF_LOCATOR, type TcData, type TcfApi, type TcfCallback } from "./tcf.ts";
export { loadExtras, EXTRAS_EVENT, type Extras } from "./extras.ts";
export { ALL_EXTRAS } from "./optional.ts";
export {
  decide, parseDecisions, findSlots, findSlotNames, slotNames, DEFAULT_TIMEOUT_MS, MAX_SLOTS, MAX_URL_LENGTH, SLOT_NAME,
  UNDECIDED_SLOT, type DecideOptions,
} from "./decide.ts";
export { createEventQueue, postJson, RETRY_MS, type EventQueue } from "./events.ts";
export { EVENTS_MAX_BYTES, MAX_EVENTS_PER_BATCH, splitBatches } from "../worker/events/limits.ts";
export {
  watchFriction, RAGE_CLICKS, RAGE_GAP_MS, RAGE_RADIUS_PX, DEAD_CLICK_MS, RAPID_BACK_MS, type FrictionKind,
} from "./friction.ts";
export { listen, type Listen } from "./dom.ts";
export { watchIntents } from "./intent.ts";
export { measureSlots, VISIBLE_RATIO, VISIBLE_MS, type SlotEventType } from "./measure.ts";
export { watchNavigation, where } from "./navigation.ts";
export { renderDecisions, renderBlock } from "./render.ts";
export { parseBlock, type ParseBlock } from "./inert.ts";
export { recordPageView, touchSession, countIn, isSessionState, SESSION_TIMEOUT_MS, type SessionState } from "./session.ts";
export {
  readPageSignals, readPageCategory, readPageTags, readPageType, readReferrer, readUtm, detectDevice, readDevice,
  trackEngagement, clip, MAX_TEXT_LENGTH, type PageSignals, type EngagementTracker,
} from "./signals.ts";
export {
  defaultStore, databaseExists, safeStore, DB_NAME, readConsent, saveConsent, forgetVisitor, forgetAll, ensureVisitorId, readVisitorId, readSession, saveSession,
  queueEvents, unqueueEvents, readQueue, clearQueue, CONSENT_KEY, VISITOR_KEY, SESSION_KEY, QUEUE_KEY, MAX_QUEUED_EVENTS, DROPPED_EVENT,
  type StoredConsent,
} from "./storage.ts";
export type * from "./types.ts";
