import { beforeEach, describe, expect, it } from "vitest";
import { get, type UseStore } from "idb-keyval";
import {
  countIn, createNextbest, isSessionState, readSession, recordPageView, saveConsent, SESSION_TIMEOUT_MS, touchSession, VISITOR_KEY,
  type SessionState,
} from "../../client/index.ts";
import { decidingFetch, freshStore, manualClock, setPage } from "./helpers.ts";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const PAGES: Record<string, string> = {
  home: '<meta name="nb:page-type" content="home">',
  shoes: '<meta name="nb:category" content="shoes"><meta name="nb:page-type" content="category">',
  bags: '<meta name="nb:category" content="bags"><meta name="nb:page-type" content="category">',
};

let store: UseStore;
let clock: ReturnType<typeof manualClock>;

beforeEach(() => {
  store = freshStore();
  clock = manualClock();
});

/** Loads a page (a new client, as a real page load creates) and returns the signals it sent. */
async function loadPage(page: keyof typeof PAGES) {
  setPage({ path: `/${page}.html`, head: PAGES[page], body: '<div data-nb-slot="hero">default</div>' });
  const { fetchImpl, calls } = decidingFetch();
  const client = createNextbest({ endpoint: "https://edge.example", fetchImpl, store, now: clock.now });
  await client.refresh();
  return { client, signals: calls[0]!.body.context.signals };
}

describe("session signals with personalization consent", () => {
  beforeEach(() => saveConsent({ personalization: true, analytics: true }, store, clock.now));

  it("counts category views across page loads within a session, the current page included", async () => {
    expect((await loadPage("shoes")).signals.categoryViews).toEqual({ shoes: 1 });
    clock.advance(2 * MINUTE);
    expect((await loadPage("home")).signals.categoryViews).toEqual({ shoes: 1 });
    clock.advance(2 * MINUTE);
    expect((await loadPage("shoes")).signals.categoryViews).toEqual({ shoes: 2 });
    clock.advance(29 * MINUTE); // inactivity just under the session timeout
    const last = await loadPage("bags");
    expect(last.signals.categoryViews).toEqual({ shoes: 2, bags: 1 });
    expect(last.signals.visitCount).toBe(1);
  });

  it("starts a new visit after 30 minutes of inactivity, with fresh category views", async () => {
    await loadPage("shoes");
    clock.advance(SESSION_TIMEOUT_MS + 1);
    const second = await loadPage("bags");
    expect(second.signals.visitCount).toBe(2);
    expect(second.signals.categoryViews).toEqual({ bags: 1 });
    clock.advance(5 * MINUTE);
    expect((await loadPage("bags")).signals).toMatchObject({ visitCount: 2, categoryViews: { bags: 2 } });
    clock.advance(24 * 60 * MINUTE);
    expect((await loadPage("home")).signals).toMatchObject({ visitCount: 3, categoryViews: {} });
  });

  it("counts a page view once, however often the page decides again", async () => {
    const { client } = await loadPage("shoes");
    await client.refresh();
    await client.refresh();
    expect((await readSession(store))?.categoryViews).toEqual({ shoes: 1 });
    expect(client.signals().categoryViews).toEqual({ shoes: 1 });
  });

  it("counts a page view once, and keeps one visitor id, when decides overlap", async () => {
    // A store that answers slowly, so the three decides really interleave their storage calls.
    const slowStore: UseStore = (mode, callback) =>
      new Promise((resolve) => setTimeout(resolve, 5)).then(() => store(mode, callback));
    setPage({ path: "/shoes.html", head: PAGES.shoes, body: '<div data-nb-slot="hero">default</div>' });
    const { fetchImpl, calls } = decidingFetch();
    const client = createNextbest({ endpoint: "https://edge.example", fetchImpl, store: slowStore, now: clock.now });
    await Promise.all([client.refresh(), client.refresh(), client.refresh()]);
    expect(calls.map((call) => call.body.context.signals.categoryViews)).toEqual([{ shoes: 1 }, { shoes: 1 }, { shoes: 1 }]);
    expect((await readSession(store))?.categoryViews).toEqual({ shoes: 1 });
    const storedId = await get(VISITOR_KEY, store);
    expect(calls.map((call) => call.body.visitorId)).toEqual([storedId, storedId, storedId]);
  });

  it("keeps the session alive while the visitor stays active", async () => {
    const { client } = await loadPage("shoes");
    clock.advance(20 * MINUTE);
    await client.refresh(); // activity on the same page
    clock.advance(20 * MINUTE);
    expect((await loadPage("shoes")).signals).toMatchObject({ visitCount: 1, categoryViews: { shoes: 2 } });
  });
});

describe("session signals without consent", () => {
  it("only describe the current page and are not carried to the next one", async () => {
    expect((await loadPage("shoes")).signals).toMatchObject({ visitCount: 1, categoryViews: { shoes: 1 } });
    clock.advance(MINUTE);
    expect((await loadPage("shoes")).signals).toMatchObject({ visitCount: 1, categoryViews: { shoes: 1 } });
    expect(await readSession(store)).toBeUndefined();
  });
});

describe("recordPageView", () => {
  it("does not modify the previous state", () => {
    const previous = { visitCount: 1, categoryViews: { shoes: 1 }, lastActivity: 0 };
    const next = recordPageView(previous, "shoes", MINUTE);
    expect(next.categoryViews).toEqual({ shoes: 2 });
    expect(previous.categoryViews).toEqual({ shoes: 1 });
  });

  it("treats exactly 30 minutes of inactivity as the same session, one millisecond more as a new one", () => {
    const previous = { visitCount: 4, categoryViews: { bags: 3 }, lastActivity: 0, page_view: 7, add_to_cart: 1, lastSearch: "duffel" };
    expect(recordPageView(previous, undefined, SESSION_TIMEOUT_MS)).toMatchObject({ visitCount: 4, page_view: 8, add_to_cart: 1 });
    // A new visit: category views, counters and the last search start again.
    expect(recordPageView(previous, undefined, SESSION_TIMEOUT_MS + 1)).toStrictEqual({
      visitCount: 5, categoryViews: {}, lastActivity: SESSION_TIMEOUT_MS + 1, recencyDays: 0, page_view: 1,
    });
  });

  it.each([
    { gap: SESSION_TIMEOUT_MS + 1, days: 0 },
    { gap: 36 * HOUR, days: 1 },
    { gap: 9 * DAY + HOUR, days: 9 },
  ])("recencyDays: whole days since the previous session ended ($days after $gap ms)", ({ gap, days }) => {
    const previous = { visitCount: 1, categoryViews: {}, lastActivity: 0 };
    expect(recordPageView(previous, undefined, gap).recencyDays).toBe(days);
    expect(recordPageView(undefined, undefined, gap).recencyDays).toBeUndefined(); // a first visit has none
  });

  it("counts page views, and product views on product pages", () => {
    const first = recordPageView(undefined, "shoes", 0, true);
    expect(first).toMatchObject({ page_view: 1, product_view: 1 });
    expect(recordPageView(first, "shoes", MINUTE, false)).toMatchObject({ page_view: 2, product_view: 1 });
  });

  it("countIn adds one, keeps the Worker's limits and ignores inherited names", () => {
    let state: SessionState = { visitCount: 1, categoryViews: {}, lastActivity: 0 };
    state = countIn(countIn(state, "add_to_cart"), "add_to_cart");
    expect(state.add_to_cart).toBe(2);
    expect(countIn(state, "constructor").constructor).toBe(1);
    for (let i = 0; i < 60; i++) state = countIn(state, `event_${i}`);
    // At most 40 fields in all (the Worker takes 64 signals, the page's own included).
    expect(Object.keys(state)).toHaveLength(40);
    expect(countIn(state, "add_to_cart").add_to_cart).toBe(3); // existing counters still count
    expect(countIn(state, "event_59")).toBe(state); // new ones no longer do
  });

  it("isSessionState accepts what recordPageView makes and refuses what arithmetic would trip on", () => {
    expect(isSessionState(recordPageView(undefined, "bags", 0))).toBe(true);
    for (const bad of [null, "x", {}, { visitCount: 1.5, lastActivity: 0 }, { visitCount: 1, lastActivity: "yesterday" }]) {
      expect(isSessionState(bad)).toBe(false);
    }
  });

  it("touchSession moves the last activity forward only", () => {
    const state = { visitCount: 1, categoryViews: {}, lastActivity: 10 * MINUTE };
    expect(touchSession(state, 12 * MINUTE).lastActivity).toBe(12 * MINUTE);
    expect(touchSession(state, 5 * MINUTE).lastActivity).toBe(10 * MINUTE);
  });
});
