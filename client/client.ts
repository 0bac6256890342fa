// One page's nextbest client: ties consent, signals, session, the decide call, rendering and
// measurement together. The script-tag entry (nb.ts) creates one and starts it once the DOM is
// parsed; tests create their own with injected fetch, store, clock and window.
import type { UseStore } from "idb-keyval";
import { listenTcf, NO_CONSENT, toConsent, withGpc } from "./consent.ts";
import { decide, DEFAULT_TIMEOUT_MS, findSlots, slotNames } from "./decide.ts";
import { listen } from "./dom.ts";
import { createEventQueue, postJson } from "./events.ts";
import { watchFriction, type FrictionKind } from "./friction.ts";
import { watchIntents } from "./intent.ts";
import { measureSlots, type SlotEventType } from "./measure.ts";
import { watchNavigation } from "./navigation.ts";
import { renderDecisions } from "./render.ts";
import { countIn, recordPageView, touchSession, type SessionState } from "./session.ts";
import { clip, readPageSignals, trackEngagement } from "./signals.ts";
import { defaultStore, ensureVisitorId, readConsent, readSession, readVisitorId, saveConsent, saveSession, type StoredConsent } from "./storage.ts";
import type { Consent, ConsentSource, Decision, NextbestEvent, Signals, TrackDetails } from "./types.ts";

export { NO_CONSENT };

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
  /**
   * The site's consent answer (purposes left out are refused). It takes precedence over TCF and
   * GPC, is stored, and the page decides again. Withdrawing a purpose erases what it allowed.
   */
  consent(answer: Partial<Consent>): Promise<Decision[]>;
  /** The consent in force; undefined if the visitor has not answered yet. */
  consentState(): Promise<Consent | undefined>;
  /** The signals a decide would send now. */
  signals(): Signals;
  /**
   * Records an action (`add_to_cart`, `search` with its `term`, `purchase` with `value` and
   * `currency`, or any name of the site's): it counts in the session signals under its name and,
   * with analytics consent, is sent as an event — a conversion for `purchase`, else `custom`.
   */
  track(name: string, details?: TrackDetails): void;
  /** Starts measuring and listening (consent, friction, navigation) and runs the first decide. Once a page. */
  start(): Promise<Decision[]>;
}

/** Name of the consent cookie the edge reads in proxy mode (worker/proxy/request-context.ts). */
export const CONSENT_COOKIE = "nb_consent";

/**
 * Mirrors the consent answer into a first-party cookie, so the edge can fill slots in the HTML
 * (proxy mode) on the next page. It holds only the answer, never an identifier.
 */
export function writeConsentCookie(answer: Consent, doc: Document = document): void {
  doc.cookie = `${CONSENT_COOKIE}=${consentText(answer)}; Path=/; Max-Age=34560000; SameSite=Lax`; // 400 days, the most browsers keep
}

/** An answer as the cookie holds it: `personalization=1&analytics=0&marketing=0`. */
const consentText = (answer: Consent) => `personalization=${+answer.personalization}&analytics=${+answer.analytics}&marketing=${+answer.marketing}`;

/** The consent in force for a stored answer: none without one, GPC applied. */
const inForce = (stored: StoredConsent | undefined, nav: Navigator): Consent =>
  stored ? withGpc(toConsent(stored), stored.source, nav) : NO_CONSENT;

/** Who the page is deciding and measuring for: the consent in force and the visitor id. */
type Identity = [consent: Consent, visitorId: string];

/** Creates the client for the current page. It starts measuring scroll and dwell immediately. */
export function createNextbest({
  endpoint,
  timeoutMs = DEFAULT_TIMEOUT_MS,
  win = window,
  store: givenStore = defaultStore,
  fetchImpl = fetch,
  now = Date.now,
  newId = () => crypto.randomUUID(),
}: NextbestOptions): Nextbest {
  const doc = win.document;
  const nav = win.navigator;
  // Storage that is unavailable (private modes, quota, blocked) reads as empty and forgets
  // writes: the page then works as for a visitor who has not answered.
  const store: UseStore = (mode, callback) => givenStore(mode, callback).catch(() => undefined as never);
  const events = createEventQueue(endpoint, win, store, fetchImpl);
  // Without personalization consent the Worker still needs a visitor id; this one lives only
  // as long as the page and is never stored.
  const pageVisitorId = `anon-${newId()}`;
  const sentSlotEvents = new Set<string>(); // one impression and one click per decision per page
  const engagement = trackEngagement(win, now);
  let session: Promise<SessionState> | undefined; // the session state, this page view counted
  let latest: SessionState | undefined; // ... once known
  let identity: Promise<Identity> | undefined; // the consent and visitor id, as last read
  let leaving: (() => void) | undefined; // friction's page-hide check
  let measure: ((slot: Element) => void) | undefined;
  let epoch = 0;

  const pageView = (previous: SessionState | undefined) => {
    const { pageCategory, pageType } = readPageSignals(win);
    return recordPageView(previous, pageCategory, now(), pageType === "product");
  };

  async function readIdentity(): Promise<Identity> {
    const consent = inForce(await readConsent(store), nav);
    // Overlapping decides share this read (whoIsIt), so the stored id is created once: two
    // creations would each store their own id and the first request would carry a lost one.
    const visitorId = consent.personalization ? await ensureVisitorId(store, newId) : pageVisitorId;
    return [consent, visitorId];
  }

  /** The consent and visitor id, read once a page and again after each answer. */
  const whoIsIt = (): Promise<Identity> => (identity ??= readIdentity());

  function signalsFor(state: SessionState): Signals {
    return {
      ...readPageSignals(win),
      ...state,
      lastActivity: undefined, // bookkeeping, not a signal
      scrollDepth: engagement.scrollDepth(),
      dwellSeconds: engagement.dwellSeconds(),
      hourOfDay: new Date(now()).getHours(),
    };
  }

  /**
   * Applies a change to the session, after this page view is counted (once per page, from the
   * stored session with personalization consent), and stores the result if consent allows.
   */
  async function changeSession(change: (state: SessionState) => SessionState): Promise<SessionState> {
    session ??= whoIsIt().then(([consent]) => (consent.personalization ? readSession(store) : undefined)).then(pageView);
    const state = await (session = session.then((state) => (latest = change(state))));
    // Read after the change: consent may have been withdrawn meanwhile.
    if ((await whoIsIt())[0].personalization) await saveSession(state, store);
    return state;
  }

  /**
   * Queues an event, with analytics consent only, once consent is known (while it changes, the
   * new answer applies). Flushes go through the same promise, so they follow earlier events.
   */
  function sendEvent(event: Omit<NextbestEvent, "eventId" | "visitorId"> & { eventId?: string }): void {
    void whoIsIt().then(([consent, visitorId]) => consent.analytics && events.push({ eventId: newId(), visitorId, ...event }));
  }

  const flush = () => void whoIsIt().then(events.flush);

  function slotEvent(type: SlotEventType, slot: Element): void {
    const decisionId = slot.getAttribute("data-nb-decision")!;
    // Derived from the decision (a UUID), so a resent event is recognised as a duplicate.
    const eventId = `${type}:${decisionId}`;
    if (sentSlotEvents.has(eventId)) return;
    sentSlotEvents.add(eventId);
    sendEvent({ type, eventId, decisionId, blockId: slot.getAttribute("data-nb-block")!, slot: slot.getAttribute("data-nb-slot")! });
  }

  function frictionSeen(kind: FrictionKind): void {
    void changeSession((state) => countIn(state, kind));
    sendEvent({ type: "custom", name: `friction.${kind}` });
  }

  /** Decides `slots` and renders the answer, unless a newer full decide started meanwhile. */
  async function decideSlots(slots: Element[], full: boolean): Promise<Decision[]> {
    const run = full ? ++epoch : epoch;
    // Only the slots wait (the site's CSS may hide a pending slot's default content).
    for (const slot of slots) slot.setAttribute("data-nb-state", "pending");
    const [consent, visitorId] = await whoIsIt();
    const state = await changeSession((s) => touchSession(s, now()));
    const decisions = await decide(slotNames(slots), { endpoint, visitorId, consent, url: win.location.href, signals: signalsFor(state), timeoutMs }, fetchImpl);
    // A consent answer or a navigation can start a full decide while this one is in flight;
    // only the latest may render, or a stale answer could overwrite the current one.
    if (run === epoch) {
      renderDecisions(decisions, slots);
      if (measure) slots.forEach(measure);
      doc.dispatchEvent(new CustomEvent(DECISIONS_EVENT, { detail: decisions }));
    }
    return decisions;
  }

  const refresh = () => decideSlots(findSlots(doc), true);

  /** Stores an answer from the site or the CMP, erases what it withdraws, and decides again. */
  async function applyConsent(answer: Partial<Consent>, source: ConsentSource): Promise<Decision[]> {
    const previous = await readConsent(store);
    const next = withGpc(toConsent(answer), source, nav);
    // The CMP repeats its answer on every page: only a change matters, and never over the site's.
    // (A stored CMP answer is stored as it applied, GPC included.)
    if (source === "tcf" && previous && (previous.source === "site" || consentText(previous) === consentText(next))) return [];
    // A visitor id exists only with personalization consent; an answer that withholds
    // personalization or analytics from it is a withdrawal the Worker must hear about.
    const erasedId = !(next.personalization && next.analytics) && (await readVisitorId(store));
    if (!next.analytics) events.clear();
    const saved = saveConsent({ ...next, source }, store, now);
    identity = saved.then(readIdentity); // events and session writes wait for the new answer
    await saved;
    writeConsentCookie(next, doc);
    // Fire and forget: the Worker erases what it keeps for this visitor.
    if (erasedId) {
      postJson(fetchImpl, `${endpoint}/v1/consent`, { visitorId: erasedId, consent: next }).catch(() => undefined);
    }
    return refresh();
  }

  function track(name: string, { value, currency, term }: TrackDetails = {}): void {
    void changeSession((state) => ({ ...countIn(state, name), ...(term && { lastSearch: clip(term) }) }));
    // Undefined details are left out of the JSON; the Worker refuses a bad name event by event.
    sendEvent(name === "purchase" ? { type: "conversion", value, currency } : { type: "custom", name, value, currency });
  }

  return {
    refresh,
    track,
    consent: (answer) => applyConsent(answer, "site"),
    async consentState() {
      const stored = await readConsent(store);
      return stored && inForce(stored, nav);
    },
    signals: () => signalsFor(latest ?? pageView(undefined)),
    start() {
      measure = measureSlots(win, slotEvent, listen);
      // Slots the edge filled are not decided again, but they are measured.
      doc.querySelectorAll("[data-nb-source=edge][data-nb-decision]").forEach(measure);
      watchIntents(doc, track, listen);
      const changedAt = watchNavigation(
        win,
        () => {
          engagement.restart();
          void changeSession(pageView);
          void refresh();
        },
        () => {
          const slots = findSlots(doc, true);
          if (slots.length) void decideSlots(slots, false);
        },
        listen,
        now,
      );
      leaving = watchFriction(win, frictionSeen, listen, changedAt, now);
      // Hidden is the last moment a page is sure to have (mobile browsers may skip pagehide).
      listen(doc, "visibilitychange", () => doc.hidden && flush());
      listen(win, "pagehide", () => {
        leaving!();
        flush();
      });
      listen(win, "online", events.drain);
      // Events stored while offline, from this or an earlier page. (Only analytics consent
      // stores them, and withdrawing it deletes them.)
      void events.drain();
      const decided = refresh();
      // Last: a CMP that throws cannot keep the page from deciding.
      listenTcf(win, (answer) => void applyConsent(answer, "tcf"));
      return decided;
    },
  };
}

/**
 * The Worker endpoint for a script tag: its `data-endpoint` attribute if set, else the origin
 * of its `src`, else the page's own origin.
 */
export function resolveEndpoint(script: HTMLScriptElement | null, pageUrl: string = location.href): string {
  const configured = script?.getAttribute("data-endpoint")?.trim();
  return configured ? configured.replace(/\/+$/, "") : new URL(script?.src || pageUrl, pageUrl).origin;
}
