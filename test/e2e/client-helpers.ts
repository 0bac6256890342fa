/**
 * Helpers for the client's browser tests: visiting demo pages, reading what the page stored in
 * IndexedDB, and recording what reached `POST /v1/events` and the Worker's answers.
 */
import type { Page, Request } from "playwright-core";
import type { NextbestEvent } from "../../client/types.ts";

/**
 * Opens a page of the demo and waits until its hero slot has been decided (by the client or the
 * edge). A decide that missed the client's 600 ms on a busy machine leaves the default content
 * without a reason: the page is loaded again, up to three loads in all.
 */
export async function visit(page: Page, url: string): Promise<{ block: string | null; reason: string | null }> {
  await page.goto(url);
  for (let load = 1; ; load++) {
    const hero = page.locator('[data-nb-slot="hero"]:is([data-nb-reason], [data-nb-state="default"])');
    await hero.waitFor({ timeout: 30_000 });
    const reason = await hero.getAttribute("data-nb-reason");
    if (reason !== null) return { block: await hero.getAttribute("data-nb-block"), reason };
    if (load >= 3) throw new Error(`${url}: the hero kept its default content in 3 loads (the decide ran out of time)`);
    await page.reload();
  }
}

/**
 * Clicks the consent bar's button and waits until the promise `nextbest.consent()` returned to the
 * bar has settled: the answer stored, the visitor id stored with personalisation, the new decide
 * rendered. Neither the consent state (in force before it is stored) nor a ranked hero (the edge
 * may have ranked it before the click) says so.
 */
export async function clickConsent(page: Page, accept: boolean): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { nextbest: { consent(a: object): Promise<unknown> }; __nbAnswer?: Promise<unknown> | null };
    const consent = w.nextbest.consent;
    w.__nbAnswer = null;
    w.nextbest.consent = (answer) => {
      w.nextbest.consent = consent; // once: the next answer wraps it again
      return (w.__nbAnswer = consent.call(w.nextbest, answer));
    };
  });
  await page.getByRole("button", { name: accept ? "Accept personalisation" : "Decline" }).click();
  await page.waitForFunction(() => !!(window as unknown as { __nbAnswer?: Promise<unknown> | null }).__nbAnswer, undefined, { timeout: 30_000 });
  await page.evaluate(() => (window as unknown as { __nbAnswer: Promise<unknown> }).__nbAnswer.then(() => undefined));
}

/** {@link clickConsent}, and with an acceptance, a ranked hero (the visitor is not held out). */
export async function answerConsent(page: Page, accept: boolean): Promise<void> {
  await clickConsent(page, accept);
  if (accept) await page.locator('[data-nb-slot="hero"][data-nb-reason="ranked"]').waitFor({ timeout: 30_000 });
}

/**
 * Runs `load` (a reload, a click that navigates) and waits until the hero is decided. A decide
 * that misses the client's 600 ms budget on a busy machine leaves the default content (and no
 * decision to measure): the page is then reloaded, up to `tries` loads in all.
 */
export async function untilDecided(page: Page, load: () => Promise<unknown>, tries = 3): Promise<void> {
  await load();
  for (let attempt = 1; ; attempt++) {
    const hero = page.locator('[data-nb-slot="hero"]:is([data-nb-state="decided"], [data-nb-state="default"])');
    await hero.waitFor({ timeout: 60_000 });
    if ((await hero.getAttribute("data-nb-state")) === "decided") return;
    if (attempt >= tries) throw new Error(`the hero kept its default content in ${tries} loads (the decide ran out of time)`);
    await page.reload();
  }
}

/**
 * Keys idb-keyval holds in the page's origin. Looks without creating: opening a database that does
 * not exist would create it empty, and the client would then find a database without its store.
 */
export function storedKeys(page: Page): Promise<string[]> {
  return page.evaluate(
    async () =>
      (await indexedDB.databases()).some((d) => d.name === "keyval-store") &&
      new Promise<string[]>((resolve) => {
        const open = indexedDB.open("keyval-store");
        open.onsuccess = () => {
          const db = open.result;
          if (!db.objectStoreNames.contains("keyval")) return resolve([]);
          const keys = db.transaction("keyval").objectStore("keyval").getAllKeys();
          keys.onsuccess = () => resolve(keys.result.map(String).sort());
        };
        open.onerror = () => resolve([]);
      }) || [],
  );
}

/** One event as the client sends it. */
export type SentEvent = NextbestEvent;

/** The Worker's answer to `POST /v1/events`. */
export interface EventsAnswer {
  status: number;
  body: { accepted: number; duplicates: number; rejected: unknown[] };
}

/** One `POST /v1/events` the browser sent. */
export interface EventsExchange {
  events: SentEvent[];
  consent: unknown;
  contentType: string | undefined;
  request: Request;
}

/**
 * Records every `POST /v1/events` the browser sends from this point on, for every page of the
 * context. Playwright sees beacons sent while a page is open, not those sent as it unloads (use
 * `resend` to check those arrived).
 */
export function recordEvents(page: Page): EventsExchange[] {
  const exchanges: EventsExchange[] = [];
  page.context().on("request", (request: Request) => {
    if (!request.url().endsWith("/v1/events") || request.method() !== "POST") return;
    const batch = JSON.parse(request.postData() ?? "{}") as { events: SentEvent[]; consent: unknown };
    exchanges.push({ ...batch, contentType: request.headers()["content-type"], request });
  });
  return exchanges;
}

/**
 * The Worker's answer to a recorded request. Chromium hands Playwright the body of a beacon's
 * answer; a page's own fetch body only once the page reads it, which the client does not.
 */
export async function answerOf(exchange: EventsExchange): Promise<EventsAnswer> {
  const response = await exchange.request.response();
  return { status: response!.status(), body: await response!.json() };
}

/** Sends events again, from the test, as the client would; the Worker's answer. */
export async function resend(base: string, events: SentEvent[]): Promise<EventsAnswer> {
  const response = await fetch(`${base}/v1/events`, {
    method: "POST",
    headers: { "content-type": "text/plain" },
    body: JSON.stringify({ events, consent: { analytics: true } }),
  });
  return { status: response.status, body: await response.json() };
}

/**
 * Proves events were kept exactly once: sends them again and returns how many copies the log
 * consumer then found already stored (`duplicates` in GET /admin/pipeline; it stores none of
 * them). The Worker reads nothing on the request path, so it answers the copies as accepted.
 */
export async function resendFindsStored(base: string, token: string, events: SentEvent[], timeoutMs = 30_000): Promise<number> {
  const duplicates = async () => ((await (await fetch(`${base}/admin/pipeline`, { headers: { authorization: `Bearer ${token}` } })).json()) as { duplicates: { events: number } }).duplicates.events;
  const before = await duplicates();
  const answer = await resend(base, events);
  if (answer.status !== 202) throw new Error(`resend answered ${answer.status}`);
  const until = Date.now() + timeoutMs;
  for (;;) {
    const found = (await duplicates()) - before;
    if (found >= events.length || Date.now() > until) return found;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Events the log consumer has stored so far (`GET /admin/pipeline`). */
export async function storedEventCount(base: string, token: string): Promise<number> {
  const res = await fetch(`${base}/admin/pipeline`, { headers: { authorization: `Bearer ${token}` } });
  return ((await res.json()) as { stored: { events: number } }).stored.events;
}

/**
 * Waits until the log consumer has stored at least `atLeast` events and has nothing left queued
 * (events reach D1 through the log queue, a moment after their 202).
 */
export async function eventsDrained(base: string, token: string, atLeast: number, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(`${base}/admin/pipeline`, { headers: { authorization: `Bearer ${token}` } });
    const p = (await res.json()) as { stored: { events: number }; backlog: { events: number } };
    if (p.stored.events >= atLeast && p.backlog.events === 0) return;
    if (Date.now() > until) throw new Error(`the log consumer had stored ${p.stored.events} of at least ${atLeast} events after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Waits until the Worker has stored the events of these decisions (they reach D1 through the log
 * queue, a moment after the answer): `expected` maps a decision id to the event types it needs.
 * Read from the admin export's outcomes.
 */
export async function storedOutcomes(base: string, token: string, expected: Record<string, ("impression" | "click")[]>, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const text = await (await fetch(`${base}/admin/export`, { headers: { authorization: `Bearer ${token}` } })).text();
    const lines = text.split("\n").filter(Boolean).map((l) => JSON.parse(l) as { decisionId: string; outcomes: Record<string, number> });
    const done = Object.entries(expected).every(([id, types]) => types.every((t) => lines.find((l) => l.decisionId === id)?.outcomes[t] === 1));
    if (done) return;
    if (Date.now() > until) throw new Error(`events of ${Object.keys(expected).join(", ")} not stored after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The decide requests the page sends from this point on (their bodies). */
export function recordDecides(page: Page): { visitorId: string; slots: string[]; consent: Record<string, boolean>; context: { url: string; signals: Record<string, unknown> } }[] {
  const bodies: ReturnType<typeof recordDecides> = [];
  page.on("request", (request) => {
    if (request.url().endsWith("/v1/decide") && request.method() === "POST") bodies.push(JSON.parse(request.postData()!));
  });
  return bodies;
}

/** The stored visitor id (IndexedDB `nb:visitor`), if any. */
export function storedVisitorId(page: Page): Promise<string | undefined> {
  return page.evaluate(
    () =>
      new Promise<string | undefined>((resolve) => {
        const open = indexedDB.open("keyval-store");
        open.onsuccess = () => {
          const get = open.result.transaction("keyval").objectStore("keyval").get("nb:visitor");
          get.onsuccess = () => resolve(get.result);
        };
      }),
  );
}

/** All events of the recorded exchanges, in order. */
export const allEvents = (exchanges: EventsExchange[]): SentEvent[] => exchanges.flatMap((exchange) => exchange.events);

/**
 * Makes the page report itself hidden, as when the visitor switches tabs: the moment the
 * client sends its batch. (Headless Chromium keeps pages visible, so the event is dispatched.)
 */
export function hidePage(page: Page): Promise<void> {
  return page.evaluate(() => {
    Object.defineProperty(document, "visibilityState", { value: "hidden", configurable: true });
    Object.defineProperty(document, "hidden", { value: true, configurable: true });
    document.dispatchEvent(new Event("visibilitychange"));
  });
}

/** The parts of `window.nextbest` the tests use. */
export type PageNextbest = { consentState(): Promise<unknown>; track(name: string, details?: Record<string, unknown>): void };
