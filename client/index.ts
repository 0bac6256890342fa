// The ESM entry: the building blocks of the script-tag client, for bundlers and tests.
export { createNextbest, resolveEndpoint, writeConsentCookie, CONSENT_COOKIE, NO_CONSENT, DECISIONS_EVENT, type Nextbest, type NextbestOptions } from "./client.ts";
export { decide, buildDecideRequest, parseDecisions, findSlotNames, DEFAULT_TIMEOUT_MS, MAX_SLOTS, MAX_URL_LENGTH, SLOT_NAME, type DecideOptions } from "./decide.ts";
export { renderDecisions, renderBlock, parseBlock } from "./render.ts";
export { recordPageView, touchSession, isSessionState, SESSION_TIMEOUT_MS, type SessionState } from "./session.ts";
export {
  readPageSignals, readPageCategory, readPageTags, readPageType, readReferrer, readUtm, detectDevice, readDevice,
  trackEngagement, clip, MAX_TEXT_LENGTH, type PageSignals, type EngagementTracker,
} from "./signals.ts";
export {
  defaultStore, readConsent, saveConsent, forgetVisitor, forgetAll, ensureVisitorId, readSession, saveSession,
  CONSENT_KEY, VISITOR_KEY, SESSION_KEY, type StoredConsent,
} from "./storage.ts";
export type * from "./types.ts";
