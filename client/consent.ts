// Consent sources besides the site's own `nextbest.consent()`: the page's IAB TCF v2 CMP and
// Global Privacy Control. Pure functions plus one listener; client.ts decides which answer wins
// (an explicit site answer, then TCF, and GPC narrowing anything that is not the site's).
import type { Consent, ConsentSource } from "./types.ts";

/** The part of a TCF v2 `TCData` object nextbest reads. */
export interface TcData {
  gdprApplies?: boolean;
  eventStatus?: string;
  purpose?: { consents?: Record<string, boolean> };
}

/** The purposes of an answer: exactly `true` grants, anything else (or nothing) refuses. */
export function toConsent(answer: Partial<Consent>): Consent {
  return { personalization: answer.personalization === true, analytics: answer.analytics === true, marketing: answer.marketing === true };
}

/** Consent assumed until the visitor answers: nothing. */
export const NO_CONSENT: Consent = toConsent({});

/**
 * The answer a TCF v2 callback carries, or undefined when it carries none: the call failed, the
 * CMP is still showing its UI (`cmpuishown`), or GDPR does not apply (then the site's own answer,
 * if any, is what counts). Each nextbest purpose needs these TCF purposes, all with consent
 * (legitimate interest is not enough); purpose 1, storing and accessing information on the
 * device, is needed by every one because nextbest keeps its state in IndexedDB:
 * - personalization: 5 and 6, create a personalised-content profile and select content with it;
 * - analytics: 8, measure content performance (impressions, clicks, conversions of blocks);
 * - marketing: 3 and 4, create a personalised-advertising profile and select ads with it.
 */
export function consentFromTcf(tcData: TcData | undefined, success = true): Consent | undefined {
  // Of the statuses (tcloaded, cmpuishown, useractioncomplete), only cmpuishown has no answer yet.
  if (!success || !tcData || tcData.gdprApplies === false || tcData.eventStatus === "cmpuishown") return undefined;
  const granted = (...purposes: number[]) => [1, ...purposes].every((id) => tcData.purpose?.consents?.[id] === true);
  return { personalization: granted(5, 6), analytics: granted(8), marketing: granted(3, 4) };
}

/**
 * Calls `onAnswer` with every answer the page's CMP gives through
 * `__tcfapi('addEventListener', 2, callback)`: once the stored choice is loaded and again each time
 * the visitor changes it. Does nothing on a page without a CMP.
 */
export function listenTcf(win: Window, onAnswer: (answer: Consent) => void): void {
  (win as { __tcfapi?: (command: string, version: number, callback: (tcData: TcData, success: boolean) => void) => void })
    .__tcfapi?.("addEventListener", 2, (tcData, success) => {
      const answer = consentFromTcf(tcData, success);
      if (answer) onAnswer(answer);
    });
}

/**
 * Applies Global Privacy Control: with `navigator.globalPrivacyControl === true`, personalization
 * and marketing are refused unless the answer is the site's own (an explicit opt-in it collected).
 */
export function withGpc(answer: Consent, source: ConsentSource, nav: Navigator = navigator): Consent {
  return (nav as { globalPrivacyControl?: boolean }).globalPrivacyControl === true && source !== "site"
    ? { ...answer, personalization: false, marketing: false }
    : answer;
}
