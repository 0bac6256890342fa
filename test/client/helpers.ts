// Shared test fixtures: a fresh fake IndexedDB per test, a page builder and a recording fetch.
import "fake-indexeddb/auto";
import { IDBFactory } from "fake-indexeddb";
import { createStore, type UseStore } from "idb-keyval";
import { afterAll, beforeAll } from "vitest";
import type { DecideRequest, Decision } from "../../client/index.ts";

/** Replaces the global IndexedDB with an empty one and returns a store on it (idb-keyval's names). */
export function freshStore(): UseStore {
  globalThis.indexedDB = new IDBFactory();
  return createStore("keyval-store", "keyval");
}

/**
 * Markup with <script src> or <link rel=stylesheet> makes happy-dom try to load the file and,
 * as loading is disabled, log an error. Call at the top of a test file to treat loads as done.
 */
export function acceptDisabledResourceLoads(): void {
  const settings = (window as unknown as { happyDOM: { settings: { handleDisabledFileLoadingAsSuccess: boolean } } }).happyDOM.settings;
  beforeAll(() => {
    settings.handleDisabledFileLoadingAsSuccess = true;
  });
  afterAll(() => {
    settings.handleDisabledFileLoadingAsSuccess = false;
  });
}

/** Page markup and location for one test. */
export interface PageSetup {
  path?: string;
  head?: string;
  body?: string;
  bodyAttributes?: Record<string, string>;
  referrer?: string;
}

/** Rewrites the happy-dom document to look like one page of the demo shop. */
export function setPage({ path = "/", head = "", body = "", bodyAttributes = {}, referrer = "" }: PageSetup = {}): void {
  history.replaceState(null, "", path);
  document.head.innerHTML = head;
  document.body.innerHTML = body;
  for (const attribute of [...document.body.attributes]) document.body.removeAttribute(attribute.name);
  for (const [name, value] of Object.entries(bodyAttributes)) document.body.setAttribute(name, value);
  Object.defineProperty(document, "referrer", { value: referrer, configurable: true });
}

/** Two slots with default content, as on the demo pages. */
export const SLOTS_HTML =
  '<div data-nb-slot="hero"><p class="default">Hero default</p></div>' +
  '<aside data-nb-slot="sidebar"><p class="default">Sidebar default</p></aside>';

/** A valid decision for a slot. */
export function decision(slot: string, blockId: string, html = `<p>${blockId}</p>`): Decision {
  return {
    slot,
    decisionId: `d-${slot}`,
    block: { id: blockId, html },
    holdout: false,
    propensity: 0.9,
    modelVersion: "m-1",
    reason: "ranked",
  };
}

/** One recorded call of the fake fetch. */
export interface FetchCall<Body = DecideRequest> {
  url: string;
  init: RequestInit;
  body: Body;
}

/**
 * A fetch that records its calls: `calls` holds the decide requests, answered by `respond`;
 * `posts` every other request (events, consent), answered by `respondOther` (by default 404,
 * as a Worker without that route would).
 */
export function recordingFetch(
  respond: (body: DecideRequest, init: RequestInit) => Response | Promise<Response>,
  respondOther: (call: FetchCall<any>) => Response | Promise<Response> = () => new Response(null, { status: 404 }),
) {
  const calls: FetchCall[] = [];
  const posts: FetchCall<any>[] = [];
  const fetchImpl = (async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const call = { url: String(input), init, body: JSON.parse(String(init.body)) };
    if (!call.url.endsWith("/v1/decide")) {
      posts.push(call);
      return respondOther(call);
    }
    calls.push(call);
    return respond(call.body, init);
  }) as typeof fetch;
  return { fetchImpl, calls, posts };
}

/**
 * A fetch that decides every requested slot with a block named `<slot>-block`; decision ids are
 * `d-<slot>`, then `d-<slot>-2`, `d-<slot>-3`… for later decides of the same fetch.
 */
export function decidingFetch(respondOther?: (call: FetchCall<any>) => Response | Promise<Response>) {
  let decides = 0;
  return recordingFetch((body) => {
    const suffix = ++decides > 1 ? `-${decides}` : "";
    return Response.json({ decisions: body.slots.map((slot) => ({ ...decision(slot, `${slot}-block`), decisionId: `d-${slot}${suffix}` })) });
  }, respondOther);
}

/** A clock the test moves by hand. */
export function manualClock(start = Date.UTC(2026, 0, 1, 9)) {
  let current = start;
  return {
    now: () => current,
    advance(ms: number) {
      current += ms;
    },
  };
}
