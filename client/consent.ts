// Consent answers, Global Privacy Control and the nb_consent cookie; the IAB TCF v2 bridge is in
// tcf.ts (loaded lazily). client.ts decides which answer wins (an explicit site answer, then TCF,
// and GPC narrowing anything that is not the site's).
import type { Consent, ConsentSource } from "./types.ts";

/** The purposes of an answer: exactly `true` grants, anything else (or nothing) refuses. */
export function toConsent(answer: Partial<Consent>): Consent {
  return { personalization: answer.personalization === true, analytics: answer.analytics === true, marketing: answer.marketing === true };
}

/** Consent assumed until the visitor answers: nothing. */
export const NO_CONSENT: Consent = toConsent({});

/**
 * Applies Global Privacy Control: with `navigator.globalPrivacyControl === true`, personalization
 * and marketing are refused unless the answer is the site's own (an explicit opt-in it collected).
 */
export function withGpc(answer: Consent, source: ConsentSource, nav: Navigator = navigator): Consent {
  return (nav as { globalPrivacyControl?: boolean }).globalPrivacyControl === true && source !== "site"
    ? { ...answer, personalization: false, marketing: false }
    : answer;
}

/** Name of the consent cookie the edge reads in proxy mode (worker/proxy/request-context.ts). */
export const CONSENT_COOKIE = "nb_consent";

/**
 * Mirrors the consent answer into a first-party cookie, so the edge can fill slots in the HTML
 * (proxy mode) on the next page. It holds only the answer, never an identifier. Without an
 * answer to keep (one that grants nothing), the cookie is deleted. Where cookies are denied (a
 * sandboxed iframe throws) nothing happens.
 */
export function writeConsentCookie(answer: Consent | undefined, doc: Document = document): void {
  try {
    // 400 days, the most browsers keep
    // Deleting: a negative Max-Age expires at once (RFC 6265 §5.2.2); 0 may still read for the
    // rest of the millisecond in some cookie jars.
    doc.cookie = `${CONSENT_COOKIE}=${answer ? consentText(answer) : ""}; Path=/; Max-Age=${answer ? 34560000 : -1}; SameSite=Lax`;
  } catch {
    // storage unavailable: the answer lives in memory only
  }
}

/**
 * Name of the first-party visitor id cookie, shared with the edge (worker/proxy/request-context.ts):
 * one id per browser whether the Worker fills slots in the HTML or this script decides them.
 */
export const VISITOR_COOKIE = "nb_vid";

/** The nb_vid cookie's value when well-formed (the edge's rule), else undefined. */
export function readVisitorCookie(doc: Document = document): string | undefined {
  try {
    return /(?:^|;\s*)nb_vid=([\w-]{8,128})(?:;|$)/.exec(doc.cookie)?.[1];
  } catch {
    // cookies denied (a sandboxed iframe throws)
  }
}

/**
 * Writes the visitor id into nb_vid (only called with personalization consent), or deletes the
 * cookie (`undefined`: consent withdrawn), so the edge and this script use one id and none
 * outlives its consent.
 */
export function writeVisitorCookie(id: string | undefined, doc: Document = document): void {
  try {
    doc.cookie = `${VISITOR_COOKIE}=${id ?? ""}; Path=/; Max-Age=${id ? 34560000 : -1}; SameSite=Lax`;
  } catch {
    // cookies denied: the id stays in IndexedDB only
  }
}

/** An answer as the cookie holds it: `personalization=1&analytics=0&marketing=0`. */
export const consentText = (answer: Consent): string => `personalization=${+answer.personalization}&analytics=${+answer.analytics}&marketing=${+answer.marketing}`;
