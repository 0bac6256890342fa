// The IAB TCF v2 bridge (part of the lazily loaded nb-extras.js): reads the answer of the page's
// CMP, through `window.__tcfapi` or, in an iframe without one, through the postMessage protocol
// the TCF describes for iframes (IAB Tech Lab, "Consent Management Platform API" v2.2, "How can
// vendors that use iframes call the CMP API from an iframe?"): find the ancestor frame that has
// a child frame named `__tcfapiLocator`, post it `{ __tcfapiCall: { command, parameter, version,
// callId } }` and read `{ __tcfapiReturn: { returnValue, success, callId } }` answers.
import type { Consent } from "./types.ts";

/** The part of a TCF v2 `TCData` object nextbest reads. */
export interface TcData {
  gdprApplies?: boolean;
  eventStatus?: string;
  purpose?: { consents?: Record<string, boolean> };
}

/** A TCF v2 callback: `success` false means the call failed. */
export type TcfCallback = (tcData: TcData, success: boolean) => void;

/** The `__tcfapi(command, version, callback, parameter)` function of a CMP. */
export type TcfApi = (command: string, version: number, callback: TcfCallback, parameter?: unknown) => void;

/** Name of the empty frame a CMP adds to its window so that iframes can find it. */
export const TCF_LOCATOR = "__tcfapiLocator";

/**
 * The answer a TCF v2 callback carries, or undefined when it carries none: the call failed, the
 * CMP is still showing its UI (`cmpuishown`), or GDPR does not apply (then the site's own answer,
 * if any, is what counts). Each nextbest purpose needs these TCF purposes, all with consent
 * (legitimate interest is not enough); purpose 1, storing and accessing information on the
 * device, is needed by every one because nextbest keeps its state in IndexedDB:
 * - personalization: 5 and 6, create a personalised-content profile and select content with it;
 * - analytics: 8, measure content performance (impressions, clicks, conversions of blocks);
 * - marketing: 3 and 4, create a personalised-advertising profile and select ads with it.
 * Without purpose 1 nothing is granted, and such an answer is kept in memory only.
 */
export function consentFromTcf(tcData: TcData | undefined, success = true): Consent | undefined {
  // Of the statuses (tcloaded, cmpuishown, useractioncomplete), only cmpuishown has no answer yet.
  if (!success || !tcData || tcData.gdprApplies === false || tcData.eventStatus === "cmpuishown") return undefined;
  const granted = (...purposes: number[]) => [1, ...purposes].every((id) => tcData.purpose?.consents?.[id] === true);
  return { personalization: granted(5, 6), analytics: granted(8), marketing: granted(3, 4) };
}

let calls = 0; // call ids, unique within this window

/**
 * The CMP's API for `win`: its own `__tcfapi`, else one that posts to the nearest frame up the
 * frame tree (`win` included) holding a `__tcfapiLocator` child, else undefined (no CMP). Only
 * answers from that frame are read: any other window could post a forged one.
 */
export function findTcfApi(win: Window): TcfApi | undefined {
  const own = (win as { __tcfapi?: unknown }).__tcfapi;
  if (typeof own === "function") return own as TcfApi;
  let cmp: Window | null = win;
  for (;;) {
    try {
      // A cross-origin window lets its child frames be found by name, nothing else.
      if (cmp!.frames[TCF_LOCATOR as never]) break;
    } catch {
      // a frame that cannot be read is not the CMP's
    }
    if (cmp === win.top) return undefined;
    cmp = cmp!.parent;
  }
  const callbacks = new Map<string, TcfCallback>();
  win.addEventListener("message", ({ data, source }) => {
    if (source !== cmp) return;
    try {
      // CMPs answer in the form they were called in, but some always answer a JSON string.
      const answer = (typeof data === "string" ? JSON.parse(data) : data)?.__tcfapiReturn;
      callbacks.get(answer?.callId)?.(answer.returnValue, answer.success);
    } catch {
      // not a TCF answer
    }
  });
  return (command, version, callback, parameter) => {
    const callId = `nextbest-${++calls}`;
    // addEventListener answers again with the same callId each time the visitor changes their mind.
    callbacks.set(callId, callback);
    cmp!.postMessage({ __tcfapiCall: { command, parameter, version, callId } }, "*");
  };
}

/**
 * Calls `onAnswer` with every answer the page's CMP gives through `addEventListener`: once the
 * stored choice is loaded and again each time the visitor changes it. Does nothing without a CMP.
 */
export function listenTcf(win: Window, onAnswer: (answer: Consent) => void): void {
  findTcfApi(win)?.("addEventListener", 2, (tcData, success) => {
    const answer = consentFromTcf(tcData, success);
    if (answer) onAnswer(answer);
  });
}
