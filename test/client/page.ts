// A started client on a page of its own: each test gets a fresh happy-dom Window (a started
// client listens for the page's lifetime, so pages must not be shared), a fake
// IntersectionObserver the test drives, a recorded sendBeacon and switchable online state.
import { Window as HappyWindow } from "happy-dom";
import { afterEach, vi } from "vitest";
import { ALL_EXTRAS, createNextbest, type Nextbest, type NextbestEvent } from "../../client/index.ts";
import { decidingFetch, freshStore, manualClock, type FetchCall } from "./helpers.ts";

/** Stands in for IntersectionObserver (happy-dom does no layout): the test says what is visible. */
export class FakeIntersectionObserver {
  static all: FakeIntersectionObserver[] = [];
  readonly observed = new Set<Element>();
  constructor(private readonly callback: (entries: { target: Element; intersectionRatio: number }[]) => void) {
    FakeIntersectionObserver.all.push(this);
  }
  observe(target: Element) {
    this.observed.add(target);
  }
  unobserve(target: Element) {
    this.observed.delete(target);
  }
  disconnect() {
    this.observed.clear();
  }
  /** Reports `target` as `ratio` visible, as the browser does when it crosses a threshold. */
  static show(target: Element, ratio: number) {
    for (const observer of FakeIntersectionObserver.all) {
      if (observer.observed.has(target)) observer.callback([{ target, intersectionRatio: ratio }]);
    }
  }
}

/** A batch sent with sendBeacon. */
export interface Beacon {
  url: string;
  batch: { events: NextbestEvent[]; consent: unknown };
}

export interface TestPage {
  win: Window & typeof globalThis;
  doc: Document;
  client: Nextbest;
  clock: ReturnType<typeof manualClock>;
  /** Decide requests. */
  decides: FetchCall[];
  /** Other requests through fetch (events sent without a beacon, consent). */
  posts: FetchCall<any>[];
  beacons: Beacon[];
  /** Every event that left the page, by beacon or by fetch. */
  sent(): NextbestEvent[];
  /** Sets navigator.onLine and fires `online`/`offline`. */
  setOnline(online: boolean): void;
  /** The page becomes hidden (visibilitychange), as when the visitor switches tabs. */
  hide(): void;
  /** The page is left (pagehide). */
  leave(): void;
}

const windows: HappyWindow[] = [];
afterEach(async () => {
  FakeIntersectionObserver.all = [];
  for (const win of windows.splice(0)) await win.happyDOM.close();
});

/** Options of openPage. */
export interface PageOptions {
  url?: string;
  head?: string;
  body?: string;
  /** Answers `POST /v1/events` and `/v1/consent` sent through fetch (default 202). */
  respondOther?: (call: FetchCall<any>) => Response | Promise<Response>;
  /** Whether sendBeacon accepts the batch (default true), or a function of its body that says so. */
  beaconAccepts?: boolean | ((data: string) => boolean);
  store?: ReturnType<typeof freshStore>;
  /** The decide timeout (default: the client's). */
  timeoutMs?: number;
  /** The storage timeout (default: the client's). */
  storageTimeoutMs?: number;
  clock?: ReturnType<typeof manualClock>;
  /** Runs on the window before the client starts (a CMP stub, GPC). */
  before?: (win: Window & typeof globalThis) => void;
  start?: boolean;
  /** Ids of events and visitors (default `id-1`, `id-2`…; real pages use UUIDs). */
  newId?: () => string;
}

/** Opens a page with a started client (unless `start: false`). */
export async function openPage({
  url = "https://shop.example/",
  head = "",
  body = '<div data-nb-slot="hero"><p>Hero default</p></div><aside data-nb-slot="sidebar"><p>Sidebar default</p></aside>',
  respondOther = () => Response.json({ accepted: 1, duplicates: 0, rejected: [] }, { status: 202 }),
  beaconAccepts = true,
  store = freshStore(),
  clock = manualClock(),
  before,
  start = true,
  newId,
  timeoutMs,
  storageTimeoutMs,
}: PageOptions = {}): Promise<TestPage> {
  const happy = new HappyWindow({ url, settings: { disableJavaScriptFileLoading: true, disableCSSFileLoading: true } });
  windows.push(happy);
  const win = happy as unknown as Window & typeof globalThis;
  const doc = win.document;
  doc.head.innerHTML = head;
  doc.body.innerHTML = body;
  Object.assign(win, { IntersectionObserver: FakeIntersectionObserver });
  const beacons: Beacon[] = [];
  let online = true;
  Object.defineProperty(win.navigator, "onLine", { get: () => online, configurable: true });
  Object.defineProperty(win.navigator, "sendBeacon", {
    value: (beaconUrl: string, data: string) => {
      const accepted = typeof beaconAccepts === "function" ? beaconAccepts(data) : beaconAccepts;
      if (accepted) beacons.push({ url: beaconUrl, batch: JSON.parse(data) });
      return accepted;
    },
    configurable: true,
  });
  before?.(win);
  const { fetchImpl, calls, posts } = decidingFetch(respondOther);
  let ids = 0;
  // The optional parts, as nb-extras.js hands them over, but at once.
  const extras = async () => ALL_EXTRAS;
  const client = createNextbest({ endpoint: "https://edge.example", win, fetchImpl, store, now: clock.now, newId: newId ?? (() => `id-${++ids}`), extras, timeoutMs, storageTimeoutMs });
  const page: TestPage = {
    win,
    doc,
    client,
    clock,
    decides: calls,
    posts,
    beacons,
    sent: () => [
      ...beacons.flatMap((beacon) => beacon.batch.events),
      ...posts.filter((post) => post.url.endsWith("/v1/events")).flatMap((post) => post.body.events),
    ],
    setOnline(value) {
      online = value;
      win.dispatchEvent(new win.Event(value ? "online" : "offline"));
    },
    hide() {
      Object.defineProperty(doc, "hidden", { value: true, configurable: true });
      doc.dispatchEvent(new win.Event("visibilitychange"));
    },
    leave() {
      win.dispatchEvent(new win.Event("pagehide"));
    },
  };
  if (start) await client.start();
  return page;
}

/**
 * Lets pending work finish: promise callbacks, (fake) IndexedDB requests, MutationObserver
 * records and, unless the test fakes timers, zero-delay timeouts (single-page-app navigation
 * is handled after the current task).
 */
export async function settle(): Promise<void> {
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    if (!vi.isFakeTimers()) await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
