// One page's nextbest client: ties consent, signals, session, the decide call, rendering and
// measurement together. The script-tag entry (nb.ts) creates one and starts it once the DOM is
// parsed; tests create their own with injected fetch, store, clock and window.
import type { UseStore } from "idb-keyval";
import { consentText, NO_CONSENT, readVisitorCookie, toConsent, withGpc, writeConsentCookie, writeVisitorCookie } from "./consent.ts";
import { decide, DEFAULT_TIMEOUT_MS, findSlots, slotNames } from "./decide.ts";
import { listen } from "./dom.ts";
import { createEventQueue, postJson } from "./events.ts";
import type { Extras } from "./extras.ts";
import type { FrictionKind } from "./friction.ts";
import type { ParseBlock } from "./inert.ts";
import type { OfflineEvents } from "./offline.ts";
import type { SlotEventType } from "./measure.ts";
import { where } from "./navigation.ts";
import { renderDecisions } from "./render.ts";
import { countIn, recordPageView, touchSession, type SessionState } from "./session.ts";
import { clip, readPageSignals, trackEngagement } from "./signals.ts";
import {
  databaseExists, defaultStore, ensureVisitorId, forgetAll, readConsent, readSession, readVisitorId, safeStore, saveConsent, saveSession, type StoredConsent,
} from "./storage.ts";
import type { Consent, ConsentSource, Decision, NextbestEvent, Signals, TrackDetails } from "./types.ts";

export { CONSENT_COOKIE, NO_CONSENT, writeConsentCookie } from "./consent.ts";

/**
 * The longest one IndexedDB operation may take before the page works without storage. A cold
 * start of IndexedDB on a busy device takes hundreds of milliseconds (over 500 ms measured in
 * headless Chromium on a loaded 2-core machine), so this is generous; what it guards against
 * is an open that is blocked or never answers, which would otherwise keep slots pending forever.
 */
export const STORAGE_TIMEOUT_MS = 1000;

/** Dispatched on the document after each decide, detail: the rendered Decision[] (empty on failure). */
export const DECISIONS_EVENT = "nextbest:decisions";

/** Settings and dependencies of a client; everything but `endpoint` has a browser default. */
export interface NextbestOptions {
  /** Origin (or base URL) of the nextbest Worker, without a trailing slash. */
  endpoint: string;
  /** Query parameters the page URL keeps besides `utm_*` (script tag: `data-url-params="a,b"`). */
  urlParams?: string[];
  /** How long a decide may take (DEFAULT_TIMEOUT_MS). */
  timeoutMs?: number;
  /** How long one storage operation may take before storage counts as unavailable (STORAGE_TIMEOUT_MS). */
  storageTimeoutMs?: number;
  win?: Window;
  store?: UseStore;
  /** Whether the store's database exists, found without creating it (`databaseExists`). */
  exists?: () => Promise<boolean>;
  /**
   * Loads the optional parts (extras.ts): slot measurement, markup intents, single-page-app
   * navigation, friction and the TCF bridge. Without it the page decides once and `track()`
   * works, but none of these runs.
   */
  extras?: () => Promise<Extras>;
  /**
   * Loads the inert block parser (inert.ts), which rendering needs. Default: the one `extras`
   * hands over; the ESM entry (index.ts) passes the bundled one. Without either, or while it fails
   * to load, slots keep their default content.
   */
  parse?: () => Promise<ParseBlock>;
  /**
   * The offline event queue in the client's store (offline.ts). Default: the one `extras` hands
   * over; the ESM entry (index.ts) passes the bundled one. Without either, events that cannot be
   * sent are lost.
   */
  offline?: (store: UseStore) => Promise<OfflineEvents>;
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
  /**
   * Links this visitor to a customer (client/identify.ts): `identify(customerId, { token })` with
   * a token signed by the site's backend. Set once the optional parts have loaded (the
   * `nextbest:extras` event); only with personalization consent.
   */
  identify?(customerId: string | undefined, options?: import("./identify.ts").IdentifyOptions): Promise<import("./identify.ts").IdentifyAnswer>;
}

/** The consent in force for a stored answer: none without one, GPC applied. */
const inForce = (stored: StoredConsent | undefined, nav: Navigator): Consent =>
  stored ? withGpc(toConsent(stored), stored.source, nav) : NO_CONSENT;

/** Who the page is deciding and measuring for: the consent in force and the visitor id. */
type Identity = [consent: Consent, visitorId: string];

/** Creates the client for the current page. It starts measuring scroll and dwell immediately. */
export function createNextbest({
  endpoint,
  urlParams,
  timeoutMs = DEFAULT_TIMEOUT_MS,
  storageTimeoutMs = STORAGE_TIMEOUT_MS,
  win = window,
  store: givenStore = defaultStore,
  exists = databaseExists,
  extras,
  parse = extras && (() => extras().then((loaded) => loaded.parseBlock)),
  offline = extras && ((store) => extras().then((loaded) => loaded.offlineEvents(store))),
  fetchImpl = fetch,
  now = Date.now,
  newId = () => crypto.randomUUID(),
}: NextbestOptions): Nextbest {
  const doc = win.document;
  const nav = win.navigator;
  // Storage that fails in any way (sandboxed iframes, private modes, quota, blocked, too slow)
  // reads as empty and forgets writes from then on: the page works without stored state, with
  // the answers given on it kept in memory.
  const store = safeStore(givenStore, exists, storageTimeoutMs);
  const events = createEventQueue(endpoint, win, offline && (() => offline(store)), fetchImpl);
  // Without personalization consent the Worker still needs a visitor id; this one lives only
  // as long as the page and is never stored.
  const pageVisitorId = `anon-${newId()}`;
  const sentSlotEvents = new Set<string>(); // one impression and one click per decision per page
  const unmeasured = new Set<string>(); // decisions made without analytics consent
  const engagement = trackEngagement(win, now);
  let session: Promise<SessionState> | undefined; // the session state, this page view counted
  let latest: SessionState | undefined; // ... once known
  let identity: Promise<Identity> | undefined; // the consent and visitor id, as last read
  let answered: Promise<StoredConsent | undefined> | undefined; // the answer given on this page, else the stored one
  let kept = false; // whether an answer is stored
  let leaving: (() => void) | undefined; // friction's page-hide check
  let measure: ((slot: Element) => void) | undefined;
  let epoch = 0;

  const pageView = (previous: SessionState | undefined) => {
    const { pageCategory, pageType } = readPageSignals(win);
    return recordPageView(previous, pageCategory, now(), pageType === "product");
  };

  /** The answer in force: given on this page (in memory), else read once from storage. */
  const answer = () => (answered ??= readConsent(store).then((stored) => ((kept = !!stored), stored)));

  async function readIdentity(): Promise<Identity> {
    const consent = inForce(await answer(), nav);
    // Overlapping decides share this read (whoIsIt), so the stored id is created once: two
    // creations would each store their own id and the first request would carry a lost one.
    // One id with the edge: nb_vid (set by the Worker in proxy mode, or by this script) is adopted,
    // else the stored one is written into it. Never before personalization consent.
    const visitorId = consent.personalization ? await ensureVisitorId(store, newId, readVisitorCookie(doc)) : pageVisitorId;
    if (consent.personalization) writeVisitorCookie(visitorId, doc);
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
    if (sentSlotEvents.has(eventId) || unmeasured.has(decisionId)) return;
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
    // Only the slots wait (the site's CSS may hide a pending slot's default content): at most
    // storageTimeoutMs for storage (once a page), then timeoutMs for the decide.
    for (const slot of slots) slot.setAttribute("data-nb-state", "pending");
    const [consent, visitorId] = await whoIsIt();
    const state = await changeSession((s) => touchSession(s, now()));
    const decisions = await decide(slotNames(slots), { endpoint, visitorId, consent, url: win.location.href, urlParams, signals: signalsFor(state), timeoutMs }, fetchImpl);
    // A decision made without analytics consent is never measured, even if consent comes while
    // it is shown: its impression would tie the anonymous decide to the consenting visitor.
    if (!consent.analytics) for (const { decisionId } of decisions) unmeasured.add(decisionId);
    // nb.js loads the inert parser beside the decide; if it cannot, nothing renders.
    const parseBlock = decisions.length ? await parse?.().catch(() => undefined) : undefined;
    // A consent answer or a navigation can start a full decide while this one is in flight;
    // only the latest may render, or a stale answer could overwrite the current one.
    if (run === epoch) {
      renderDecisions(decisions, slots, parseBlock);
      if (measure) slots.forEach(measure);
      doc.dispatchEvent(new CustomEvent(DECISIONS_EVENT, { detail: parseBlock ? decisions : [] }));
    }
    return decisions;
  }

  const refresh = () => decideSlots(findSlots(doc), true);

  /**
   * Applies an answer from the site or the CMP: kept in memory for this page, stored if it grants
   * a purpose (else what was stored is deleted: it refuses device storage), erases what it
   * withdraws, and decides again.
   */
  async function applyConsent(given: Partial<Consent>, source: ConsentSource): Promise<Decision[]> {
    const previous = await answer();
    const next = withGpc(toConsent(given), source, nav);
    const record = { ...next, source, updatedAt: now() };
    // The CMP repeats its answer on every page: only a change matters, and never over the site's.
    // (A stored CMP answer is stored as it applied, GPC included.) A first refusal changes
    // nothing either, but it is an answer.
    if (source === "tcf" && (previous?.source === "site" || consentText(previous ?? NO_CONSENT) === consentText(next))) {
      answered = Promise.resolve(previous ?? record);
      return [];
    }
    // A visitor id exists only with personalization consent; an answer that withholds
    // personalization or analytics from it is a withdrawal the Worker must hear about.
    const erasedId = !(next.personalization && next.analytics) && ((await readVisitorId(store)) || readVisitorCookie(doc));
    if (!next.analytics) events.clear();
    const keep = next.personalization || next.analytics || next.marketing;
    answered = Promise.resolve(record);
    const saved = keep ? saveConsent(record, store, now) : kept ? forgetAll(store) : Promise.resolve();
    kept = keep;
    identity = saved.then(readIdentity); // events and session writes wait for the new answer
    await saved;
    writeConsentCookie(keep ? next : undefined, doc);
    if (!next.personalization) writeVisitorCookie(undefined, doc);
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

  const api: Nextbest = {
    refresh,
    track,
    consent: (answer) => applyConsent(answer, "site"),
    async consentState() {
      const given = await answer();
      return given && inForce(given, nav);
    },
    signals: () => signalsFor(latest ?? pageView(undefined)),
    start() {
      const since = where(win);
      // Hidden is the last moment a page is sure to have (mobile browsers may skip pagehide).
      listen(doc, "visibilitychange", () => doc.hidden && flush());
      listen(win, "pagehide", () => {
        leaving?.();
        flush();
      });
      listen(win, "online", events.drain);
      // Events stored while offline, from this or an earlier page. (Only analytics consent
      // stores them, and withdrawing it deletes them.)
      void events.drain();
      const decided = refresh();
      // Started after the first decide (nb.js loads them beside it, for the block parser), so
      // that starting them never slows it down; and a CMP that throws cannot keep the page from
      // deciding.
      if (extras) {
        decided
          .then(extras)
          .then(({ measureSlots, watchIntents, watchNavigation, watchFriction, listenTcf, identify }) => {
            if (identify) api.identify = (id, options) => identify(endpoint, whoIsIt, fetchImpl, id, options);
            measure = measureSlots(win, slotEvent, listen);
            // Slots decided before, and those the edge filled (not decided again), are measured too.
            doc.querySelectorAll("[data-nb-decision]").forEach(measure);
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
              since,
            );
            leaving = watchFriction(win, frictionSeen, listen, changedAt, now);
            listenTcf(win, (given) => void applyConsent(given, "tcf"));
          })
          .catch(() => undefined);
      }
      return decided;
    },
  };
  return api;
}

/**
 * The Worker endpoint for a script tag: its `data-endpoint` attribute if set, else the origin
 * of its `src`, else the page's own origin.
 */
export function resolveEndpoint(script: HTMLScriptElement | null, pageUrl: string = location.href): string {
  const configured = script?.getAttribute("data-endpoint")?.trim();
  return configured ? configured.replace(/\/+$/, "") : new URL(script?.src || pageUrl, pageUrl).origin;
}
