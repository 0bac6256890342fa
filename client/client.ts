// One page's nextbest client: ties signals, session, consent storage, the decide call and
// rendering together. The script-tag entry (nb.ts) creates one on load; tests create their own
// with injected fetch, store, clock and window.
import type { UseStore } from "idb-keyval";
import { decide, DEFAULT_TIMEOUT_MS, findSlotNames } from "./decide.ts";
import { renderDecisions } from "./render.ts";
import { recordPageView, touchSession, type SessionState } from "./session.ts";
import { readPageSignals, trackEngagement } from "./signals.ts";
import { defaultStore, ensureVisitorId, readConsent, readSession, saveConsent, saveSession } from "./storage.ts";
import type { Consent, Decision, Signals } from "./types.ts";

/** Consent assumed until the visitor answers: nothing personal. */
export const NO_CONSENT: Consent = { personalization: false, analytics: false };

/** Dispatched on the document after each decide, detail: the rendered Decision[] (empty on failure). */
export const DECISIONS_EVENT = "nextbest:decisions";

/** Settings and dependencies of a client; everything but `endpoint` has a browser default. */
export interface NextbestOptions {
  /** Origin (or base URL) of the nextbest Worker, without a trailing slash. */
  endpoint: string;
  timeoutMs?: number;
  win?: Window;
  store?: UseStore;
  fetchImpl?: typeof fetch;
  now?: () => number;
  newId?: () => string;
}

/** The client API, exposed to pages as `window.nextbest`. */
export interface Nextbest {
  /** Runs one decide for all slots on the page and renders the answer. Never rejects. */
  refresh(): Promise<Decision[]>;
  /** Stores the visitor's consent answer and re-runs the decide. */
  consent(answer: Consent): Promise<Decision[]>;
  /** The stored consent answer; undefined if the visitor has not answered yet. */
  consentState(): Promise<Consent | undefined>;
  /** The signals as of now (session part as of the last decide). */
  signals(): Signals;
}

/** Name of the consent cookie the edge reads in proxy mode (worker/proxy/request-context.ts). */
export const CONSENT_COOKIE = "nb_consent";

/**
 * Mirrors the consent answer into a first-party cookie, so the edge can fill slots in the HTML
 * (proxy mode) on the next page. It holds only the answer, never an identifier.
 */
export function writeConsentCookie(answer: Consent, doc: Document = document): void {
  const value = encodeURIComponent(`personalization=${answer.personalization ? 1 : 0}&analytics=${answer.analytics ? 1 : 0}`);
  doc.cookie = `${CONSENT_COOKIE}=${value}; Path=/; Max-Age=${400 * 24 * 3600}; SameSite=Lax`;
}

/** Resolves after a storage call, or with `fallback` if storage is unavailable (private modes, quota). */
function quietly<T>(operation: () => Promise<T>, fallback: T): Promise<T> {
  return operation().catch(() => fallback);
}

/** Creates the client for the current page. It starts measuring scroll and dwell immediately. */
export function createNextbest({
  endpoint,
  timeoutMs = DEFAULT_TIMEOUT_MS,
  win = window,
  store = defaultStore,
  fetchImpl = fetch,
  now = Date.now,
  newId = () => crypto.randomUUID(),
}: NextbestOptions): Nextbest {
  const engagement = trackEngagement(win, now);
  // Without personalization consent the Worker still needs a visitor id; this one lives only
  // as long as the page and is never stored.
  const pageVisitorId = `anon-${newId()}`;
  let pageView: Promise<SessionState> | undefined; // counting this page view, started once
  let session: SessionState | undefined; // the latest session state
  let storedVisitorId: Promise<string> | undefined; // read or created once, like the count
  let latestRun = 0;

  function signalsFor(state: SessionState): Signals {
    return {
      ...readPageSignals(win),
      categoryViews: state.categoryViews,
      scrollDepth: engagement.scrollDepth(),
      dwellSeconds: engagement.dwellSeconds(),
      visitCount: state.visitCount,
    };
  }

  /**
   * Counts this page view once per page, even when decides overlap (the count is a shared
   * promise); later decides on the same page only mark activity.
   */
  async function updateSession(consent: Consent): Promise<SessionState> {
    const counting = !pageView;
    pageView ??= (consent.personalization ? quietly(() => readSession(store), undefined) : Promise.resolve(undefined))
      .then((previous) => recordPageView(previous, readPageSignals(win).pageCategory, now()));
    const counted = await pageView;
    const state = counting ? counted : touchSession(session ?? counted, now());
    session = state;
    if (consent.personalization) await quietly(() => saveSession(state, store), undefined);
    return state;
  }

  async function refresh(): Promise<Decision[]> {
    const run = ++latestRun;
    const stored = await quietly(() => readConsent(store), undefined);
    const consent: Consent = stored
      ? { personalization: stored.personalization, analytics: stored.analytics }
      : NO_CONSENT;
    // Overlapping decides share one read (or creation) of the stored id; two creations
    // would each store their own id and the first request would carry a lost one.
    const visitorId = consent.personalization
      ? await (storedVisitorId ??= quietly(() => ensureVisitorId(store, newId), pageVisitorId))
      : pageVisitorId;
    const signals = signalsFor(await updateSession(consent));
    const doc = win.document;
    const decisions = await decide(findSlotNames(doc), { endpoint, visitorId, consent, url: win.location.href, signals, timeoutMs }, fetchImpl);
    // A consent answer can start a second decide while the first is in flight; only the
    // latest one may render, or a stale answer could overwrite the consented one.
    if (run === latestRun) {
      renderDecisions(decisions, doc);
      doc.dispatchEvent(new CustomEvent(DECISIONS_EVENT, { detail: decisions }));
    }
    return decisions;
  }

  return {
    refresh,
    async consent(answer) {
      await quietly(() => saveConsent(answer, store, now), undefined);
      writeConsentCookie(answer, win.document);
      storedVisitorId = undefined; // a refusal deleted it; a new grant reads (or creates) it again
      return refresh();
    },
    async consentState() {
      const stored = await quietly(() => readConsent(store), undefined);
      return stored && { personalization: stored.personalization, analytics: stored.analytics };
    },
    signals() {
      return signalsFor(session ?? recordPageView(undefined, readPageSignals(win).pageCategory, now()));
    },
  };
}

/**
 * The Worker endpoint for a script tag: its `data-endpoint` attribute if set, else the origin
 * of its `src`, else the page's own origin.
 */
export function resolveEndpoint(script: HTMLScriptElement | null, pageUrl: string = location.href): string {
  const configured = script?.getAttribute("data-endpoint")?.trim();
  if (configured) return configured.replace(/\/+$/, "");
  try {
    return new URL(script?.src || pageUrl, pageUrl).origin;
  } catch {
    return new URL(pageUrl).origin;
  }
}
