// The event queue: one batch per hidden page by sendBeacon (fetch with keepalive when a beacon is
// refused), IndexedDB while offline, sent later exactly once; conversions and custom events
// through nextbest.track(); nothing at all without analytics consent.
import { describe, expect, it } from "vitest";
import { get, keys, set } from "idb-keyval";
import {
  createEventQueue, offlineEvents, splitBatches, DROPPED_EVENT, EVENTS_MAX_BYTES, MAX_EVENTS_PER_BATCH, MAX_QUEUED_EVENTS, QUEUE_KEY, RETRY_MS,
  type NextbestEvent,
} from "../../client/index.ts";
import { EVENTS_MAX_BYTES as WORKER_MAX_BYTES } from "../../worker/events/limits.ts"; // what route.ts enforces
import { MAX_EVENTS_PER_BATCH as WORKER_MAX_EVENTS } from "../../worker/events/schema.ts";
import { freshStore, type FetchCall } from "./helpers.ts";
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
    const queue = createEventQueue("https://edge.example", { navigator: { onLine: false } } as unknown as Window, async () => offlineEvents(store));
    queue.push(event(1));
    await settle();
    let answered = 0;
    const fetchImpl = (async () => (answered++, new Response(null, { status }))) as unknown as typeof fetch;
    await createEventQueue("https://edge.example", { navigator: { onLine: true } } as unknown as Window, async () => offlineEvents(store), fetchImpl).drain();
    expect(answered).toBe(1);
    expect((await keys(store)).includes(QUEUE_KEY)).toBe(kept);
  });

  it(`keeps at most ${MAX_QUEUED_EVENTS} events, the newest, and counts the dropped ones in an event sent with them`, async () => {
    const store = freshStore();
    const queue = createEventQueue("https://edge.example", { navigator: { onLine: false } } as unknown as Window, async () => offlineEvents(store));
    await set(QUEUE_KEY, Array.from({ length: MAX_QUEUED_EVENTS }, (_, n) => event(n + 1)), store); // full (one write, not 500)
    for (let n = MAX_QUEUED_EVENTS + 1; n <= MAX_QUEUED_EVENTS + 30; n++) queue.push(event(n));
    await settle();
    let queued = (await get<NextbestEvent[]>(QUEUE_KEY, store))!;
    expect(queued).toHaveLength(MAX_QUEUED_EVENTS);
    // 31 events went; the count takes the place of the oldest.
    expect(queued[0]).toEqual({ type: "custom", name: DROPPED_EVENT, value: 31, eventId: "dropped:id-31", visitorId: "v-1" });
    expect(queued[1]!.eventId).toBe("id-32");
    expect(queued.at(-1)!.eventId).toBe(`id-${MAX_QUEUED_EVENTS + 30}`);

    for (let n = MAX_QUEUED_EVENTS + 31; n <= MAX_QUEUED_EVENTS + 40; n++) queue.push(event(n));
    await settle();
    queued = (await get<NextbestEvent[]>(QUEUE_KEY, store))!;
    expect(queued).toHaveLength(MAX_QUEUED_EVENTS);
    expect(queued.filter((e) => e.name === DROPPED_EVENT)).toEqual([expect.objectContaining({ value: 41 })]); // 31 + 10: one count, adding up
    expect(queued[1]!.eventId).toBe("id-42");

    const posts: NextbestEvent[][] = [];
    const fetchImpl = (async (_url: string, init: RequestInit) => (posts.push(JSON.parse(String(init.body)).events), new Response(null, { status: 202 }))) as unknown as typeof fetch;
    await createEventQueue("https://edge.example", { navigator: { onLine: true } } as unknown as Window, async () => offlineEvents(store), fetchImpl).drain();
    expect(posts.map((p) => p.length)).toEqual([100, 100, 100, 100, 100]);
    expect(posts[0]![0]).toMatchObject({ type: "custom", name: DROPPED_EVENT, value: 41 }); // the Worker hears of the loss
    expect(await keys(store)).not.toContain(QUEUE_KEY);
  });
});

describe("batches the Worker takes", () => {
  it("the client and the Worker share their limits", () => {
    expect([MAX_EVENTS_PER_BATCH, EVENTS_MAX_BYTES]).toEqual([WORKER_MAX_EVENTS, WORKER_MAX_BYTES]);
    expect(EVENTS_MAX_BYTES).toBeLessThanOrEqual(64 * 1024); // a beacon's quota
  });

  const named = (count: number, name: (n: number) => string) => Array.from({ length: count }, (_, n): NextbestEvent => ({ type: "custom", name: name(n), eventId: `e-${n}`, visitorId: "v-1" }));
  it.each([
    { case: "150 short events", events: named(150, () => "promo_seen"), batches: [100, 50] },
    { case: "400 events with 64-character names", events: named(400, (n) => `promo_seen_${n}_`.padEnd(64, "x")), batches: [100, 100, 100, 100] },
    // ~1,060 bytes of JSON each: 61 fit in 64 KiB.
    { case: "100 events of 1 KB: bytes split them", events: named(100, (n) => `${n}`.padEnd(1000, "x")), batches: [61, 39] },
    // 600 characters of 2 bytes each: ~1,260 bytes, 51 fit.
    { case: "non-ASCII counts in UTF-8 bytes", events: named(100, () => "é".repeat(600)), batches: [51, 49] },
    { case: "nothing", events: [], batches: [] },
  ])("$case → batches of $batches", ({ events, batches }) => {
    const split = splitBatches(events);
    expect(split.map((b) => b.length)).toEqual(batches);
    expect(split.flat()).toEqual(events); // all of them, in order, once
    const bytes = (batch: NextbestEvent[]) => new Blob([JSON.stringify({ events: batch, consent: { analytics: true } })]).size;
    split.forEach((batch, i) => {
      expect(bytes(batch)).toBeLessThanOrEqual(EVENTS_MAX_BYTES);
      // As full as allowed: the next event would not have fitted.
      if (i < split.length - 1) expect(batch.length === MAX_EVENTS_PER_BATCH || bytes([...batch, split[i + 1]![0]!]) > EVENTS_MAX_BYTES - 64).toBe(true);
    });
  });
});

/**
 * A browser's keepalive quota and the Worker behind it: beacons and keepalive fetches share
 * EVENTS_MAX_BYTES in flight (a request is in flight for `ms`), as the Fetch Standard has it; the
 * Worker refuses a batch over its limits whole and counts, per event id, each event it receives.
 */
function browserToWorker(ms = 20) {
  let inFlight = 0;
  const received = new Map<string, number>();
  const refusedByWorker: number[] = [];
  const send = (body: string): boolean => {
    const bytes = new Blob([body]).size;
    if (inFlight + bytes > EVENTS_MAX_BYTES) return false;
    inFlight += bytes;
    setTimeout(() => (inFlight -= bytes), ms);
    const { events } = JSON.parse(body) as { events: NextbestEvent[] };
    if (events.length > WORKER_MAX_EVENTS || bytes > WORKER_MAX_BYTES) refusedByWorker.push(events.length);
    else for (const e of events) received.set(e.eventId, (received.get(e.eventId) ?? 0) + 1);
    return true;
  };
  return {
    received,
    refusedByWorker,
    beaconAccepts: send,
    respondOther: (call: FetchCall<any>) =>
      send(String(call.init.body)) ? Response.json({}, { status: 202 }) : Promise.reject(new TypeError("Failed to fetch")),
  };
}

describe("many events on one page", () => {
  it("150 promo_seen, then the page is hidden: all 150 arrive, exactly once", async () => {
    const net = browserToWorker();
    const page = await openPage({ beaconAccepts: net.beaconAccepts, respondOther: net.respondOther });
    await page.client.consent({ personalization: true, analytics: true });
    for (let n = 0; n < 150; n++) page.client.track("promo_seen");
    page.hide();
    await settle();
    expect(page.beacons.map((b) => b.batch.events.length)).toEqual([100, 50]); // a full batch leaves at once
    expect(net.refusedByWorker).toEqual([]);
    expect(net.received.size).toBe(150);
    expect([...net.received.values()].every((times) => times === 1)).toBe(true);
  });

  it("400 events with long names: what the browser refuses is stored and sent a moment later; all 400 arrive, exactly once", async () => {
    const store = freshStore();
    const net = browserToWorker();
    // With UUIDs, as on a real page, 100 such events are ~19.6 KB.
    const page = await openPage({ store, beaconAccepts: net.beaconAccepts, respondOther: net.respondOther, newId: () => crypto.randomUUID() });
    await page.client.consent({ personalization: true, analytics: true });
    for (let n = 0; n < 400; n++) page.client.track(`promo_seen_${n}_`.padEnd(64, "x"));
    await settle();
    // Three beacons fill the 64 KiB quota; the fourth batch is refused, by fetch too, and waits.
    expect(page.beacons.map((b) => b.batch.events.length)).toEqual([100, 100, 100]);
    expect((await get<NextbestEvent[]>(QUEUE_KEY, store))!).toHaveLength(100);
    page.hide();
    await expect.poll(() => net.received.size, { timeout: 10 * RETRY_MS }).toBe(400);
    expect(net.refusedByWorker).toEqual([]);
    expect([...net.received.values()].every((times) => times === 1)).toBe(true);
    await expect.poll(() => keys(store), { timeout: 10 * RETRY_MS }).not.toContain(QUEUE_KEY);
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
