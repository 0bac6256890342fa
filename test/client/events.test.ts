// The event queue: one batch per hidden page by sendBeacon (fetch with keepalive when a beacon is
// refused), IndexedDB while offline, sent later exactly once; conversions and custom events
// through nextbest.track(); nothing at all without analytics consent.
import { describe, expect, it } from "vitest";
import { get, keys } from "idb-keyval";
import { createEventQueue, QUEUE_KEY, type NextbestEvent } from "../../client/index.ts";
import { freshStore } from "./helpers.ts";
import { openPage, settle } from "./page.ts";

const event = (n: number): NextbestEvent => ({ type: "custom", name: `e${n}`, eventId: `id-${n}`, visitorId: "v-1" });

describe("the batch", () => {
  it("leaves once, by sendBeacon, when the page is hidden or left; the rest of the time it waits", async () => {
    const page = await openPage();
    await page.client.consent({ personalization: true, analytics: true });
    page.client.track("add_to_cart");
    page.client.track("purchase", { value: 129, currency: "EUR" });
    await settle();
    expect(page.beacons).toEqual([]);
    page.hide();
    page.leave();
    await settle();
    expect(page.beacons).toHaveLength(1);
    const [beacon] = page.beacons;
    expect(beacon!.url).toBe("https://edge.example/v1/events");
    const visitorId = page.decides.at(-1)!.body.visitorId;
    expect(beacon!.batch).toEqual({
      consent: { analytics: true },
      events: [
        { type: "custom", name: "add_to_cart", eventId: expect.any(String), visitorId },
        { type: "conversion", value: 129, currency: "EUR", eventId: expect.any(String), visitorId },
      ],
    });
    expect(new Set(beacon!.batch.events.map((e) => e.eventId)).size).toBe(2);
    expect(page.posts).toEqual([]); // no fetch when the beacon is accepted
  });

  it("goes by fetch with keepalive, as text/plain and without cookies, when the beacon is refused", async () => {
    const page = await openPage({ beaconAccepts: false });
    await page.client.consent({ personalization: false, analytics: true });
    page.client.track("newsletter_signup");
    page.leave();
    await settle();
    const posts = page.posts.filter((post) => post.url.endsWith("/v1/events"));
    expect(posts).toHaveLength(1);
    expect(posts[0]!.init).toMatchObject({ method: "POST", keepalive: true, credentials: "omit", headers: { "content-type": "text/plain" } });
    expect(posts[0]!.body.events).toEqual([{ type: "custom", name: "newsletter_signup", eventId: expect.any(String), visitorId: expect.stringMatching(/^anon-/) }]);
  });

  it("is stored for later when even that fails", async () => {
    const store = freshStore();
    const page = await openPage({ store, beaconAccepts: false, respondOther: () => Promise.reject(new TypeError("Failed to fetch")) });
    await page.client.consent({ personalization: false, analytics: true });
    page.client.track("newsletter_signup");
    page.leave();
    await settle();
    expect(await get(QUEUE_KEY, store)).toEqual([expect.objectContaining({ name: "newsletter_signup" })]);
  });
});

describe("offline", () => {
  it("events go to IndexedDB at once and leave, once, when the browser is back online", async () => {
    const store = freshStore();
    const page = await openPage({ store });
    await page.client.consent({ personalization: true, analytics: true });
    page.setOnline(false);
    page.client.track("search", { term: "trail shoes" });
    page.client.track("add_to_cart");
    await settle();
    expect((await get<NextbestEvent[]>(QUEUE_KEY, store))!.map((e) => e.name)).toEqual(["search", "add_to_cart"]);
    page.hide();
    await settle();
    expect(page.beacons).toEqual([]);
    expect(page.sent()).toEqual([]);

    page.setOnline(true);
    await settle();
    const sent = page.posts.filter((post) => post.url.endsWith("/v1/events"));
    expect(sent.map((post) => post.body.events.map((e: NextbestEvent) => e.name))).toEqual([["search", "add_to_cart"]]);
    expect(await keys(store)).not.toContain(QUEUE_KEY);
    page.setOnline(false);
    page.setOnline(true);
    await settle();
    expect(page.posts.filter((post) => post.url.endsWith("/v1/events"))).toHaveLength(1);
  });

  it("events from an earlier page leave with the next page load, with their own ids and visitor", async () => {
    const store = freshStore();
    const first = await openPage({ store });
    await first.client.consent({ personalization: false, analytics: true });
    first.setOnline(false);
    first.client.track("add_to_cart");
    await settle();
    const [queued] = (await get<NextbestEvent[]>(QUEUE_KEY, store))!;

    const next = await openPage({ store });
    await settle();
    expect(next.posts.filter((post) => post.url.endsWith("/v1/events")).map((post) => post.body.events)).toEqual([[queued]]);
    expect(queued!.visitorId).toBe(first.decides[0]!.body.visitorId); // the page it happened on
    expect(await keys(store)).toEqual(["nb:consent"]);
  });

  it.each([
    { status: 202, kept: false },
    { status: 400, kept: false }, // resending would not make a bad batch good
    { status: 503, kept: true }, // the Worker may be back later
  ])("after a $status answer the queue is kept: $kept", async ({ status, kept }) => {
    const store = freshStore();
    const queue = createEventQueue("https://edge.example", { navigator: { onLine: false } } as unknown as Window, store);
    queue.push(event(1));
    await settle();
    let answered = 0;
    const fetchImpl = (async () => (answered++, new Response(null, { status }))) as unknown as typeof fetch;
    await createEventQueue("https://edge.example", { navigator: { onLine: true } } as unknown as Window, store, fetchImpl).drain();
    expect(answered).toBe(1);
    expect((await keys(store)).includes(QUEUE_KEY)).toBe(kept);
  });

  it("keeps at most 100 events, the newest", async () => {
    const store = freshStore();
    const queue = createEventQueue("https://edge.example", { navigator: { onLine: false } } as unknown as Window, store);
    for (let n = 1; n <= 130; n++) queue.push(event(n));
    await settle();
    const queued = (await get<NextbestEvent[]>(QUEUE_KEY, store))!;
    expect(queued).toHaveLength(100);
    expect(queued[0]!.eventId).toBe("id-31");
    expect(queued.at(-1)!.eventId).toBe("id-130");
  });
});

describe("nextbest.track()", () => {
  it.each([
    { name: "purchase", details: { value: 49.5, currency: "EUR" }, want: { type: "conversion", value: 49.5, currency: "EUR" } },
    { name: "purchase", details: {}, want: { type: "conversion" } },
    { name: "add_to_cart", details: {}, want: { type: "custom", name: "add_to_cart" } },
    { name: "search", details: { term: "rain jacket" }, want: { type: "custom", name: "search" } }, // the term stays in the browser
    { name: "quote_requested", details: { value: 900, currency: "GBP" }, want: { type: "custom", name: "quote_requested", value: 900, currency: "GBP" } },
  ])("$name $details → $want", async ({ name, details, want }) => {
    const page = await openPage();
    await page.client.consent({ personalization: false, analytics: true });
    page.client.track(name, details);
    page.hide();
    await settle();
    expect(page.sent()).toEqual([{ ...want, eventId: expect.any(String), visitorId: expect.any(String) }]);
  });

  it("sends nothing before an answer, nor with personalization alone, and writes nothing", async () => {
    const store = freshStore();
    const page = await openPage({ store });
    page.client.track("add_to_cart");
    page.setOnline(false);
    page.client.track("add_to_cart");
    page.setOnline(true);
    page.hide();
    await settle();
    expect(page.sent()).toEqual([]);
    expect(await keys(store)).toEqual([]);

    await page.client.consent({ personalization: true, analytics: false });
    page.client.track("add_to_cart");
    page.leave();
    await settle();
    expect(page.sent()).toEqual([]);
    expect((await keys(store)).sort()).toEqual(["nb:consent", "nb:session", "nb:visitor"]);
  });
});
