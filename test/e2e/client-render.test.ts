// Rendering in Chromium: a Worker that does not answer, single-page-app navigation, and slots the
// edge already filled (proxy mode), which are measured but not decided again.
import { describe, expect, inject, it } from "vitest";
import { browserPerTest } from "./browser.ts";
import { answerConsent, answerOf, hidePage, recordDecides, recordEvents, visit } from "./client-helpers.ts";

const base = inject("baseUrl");
const browser = browserPerTest();

describe("a Worker that does not answer", () => {
  it("leaves the default content in place, shown within the 600 ms timeout; only the slots wait", async () => {
    const page = await browser.context.newPage();
    // This test is about the shipped timeout: the page runs the real nb.js, not the test build.
    await page.route("**/nb.js", (route) => route.continue());
    await page.route("**/v1/decide", () => {}); // never answered
    // The page records, as it happens, when the hero starts and stops waiting and what was
    // visible while it waited.
    await page.addInitScript(() => {
      const record = (window as unknown as { __hero: Record<string, unknown> }).__hero = {};
      new MutationObserver(() => {
        const hero = document.querySelector('[data-nb-slot="hero"]');
        const state = hero?.getAttribute("data-nb-state");
        if (state === "pending" && !("pendingAt" in record)) {
          record.pendingAt = performance.now();
          record.headingWhilePending = getComputedStyle(document.querySelector("main h1")!).visibility;
          record.heroWhilePending = getComputedStyle(hero!.firstElementChild!).visibility;
          // How long the 1 s reveal (the site's CSS) had been running: on a busy machine nb.js
          // may start after it has already shown the default content.
          const reveal = hero!.firstElementChild!.getAnimations().find((a) => (a as CSSAnimation).animationName === "nb-reveal");
          record.revealRanMs = Number(reveal?.currentTime ?? 0);
        }
        if (state === "default" && !("defaultAt" in record)) record.defaultAt = performance.now();
      }).observe(document, { subtree: true, attributes: true, attributeFilter: ["data-nb-state"] });
      // When the decide request leaves: the timeout runs from there. (Reading the stored consent
      // and session before it can take seconds on a busy machine; that is not the timeout.)
      const fetchBefore = window.fetch;
      window.fetch = (input: RequestInfo | URL, init?: RequestInit) => {
        if (String(input instanceof Request ? input.url : input).endsWith("/v1/decide") && !("fetchAt" in record)) record.fetchAt = performance.now();
        return fetchBefore(input, init);
      };
      // When the client's 600 ms timer is set: the last one before the decide's fetch (the client
      // sets it just before building the request, which can take ms on a busy machine).
      const timersAt: number[] = [];
      record.timersAt = timersAt;
      const setTimeoutBefore = window.setTimeout;
      window.setTimeout = ((handler: TimerHandler, ms?: number, ...args: unknown[]) => {
        if (ms === 600) timersAt.push(performance.now());
        return setTimeoutBefore(handler, ms, ...args);
      }) as typeof window.setTimeout;
    });
    await page.goto(`${base}/`);
    const hero = page.locator('[data-nb-slot="hero"]');
    await page.locator('[data-nb-slot="hero"][data-nb-state="default"]').waitFor({ timeout: 30_000 });
    const record = await page.evaluate(() => (window as unknown as { __hero: { pendingAt: number; fetchAt: number; timersAt: number[]; defaultAt: number; headingWhilePending: string; heroWhilePending: string; revealRanMs: number } }).__hero);
    expect(record.headingWhilePending).toBe("visible"); // the page is never hidden
    // The slot waits in its reserved space, hidden, for at most 1 s after the page appeared.
    expect(record.heroWhilePending).toBe(record.revealRanMs < 1_000 ? "hidden" : "visible");
    expect(record.fetchAt).toBeGreaterThanOrEqual(record.pendingAt);
    const timerAt = record.timersAt.filter((at) => at <= record.fetchAt).at(-1);
    expect(timerAt).toBeDefined();
    const waited = record.defaultAt - timerAt!;
    // From the client's own timer (from the fetch, a CI run measured 594.9 ms: the request is
    // built in between); 1 ms below 600 for Chromium's coarsened clock (100 µs) and timer slack.
    expect(waited).toBeGreaterThanOrEqual(599);
    expect(waited).toBeLessThan(600 + 1_000); // the timeout, with room for a late timer on a busy machine
    expect(await hero.innerText()).toContain("Welcome to Northwind Outfitters");
    expect(await hero.locator("h2").isVisible()).toBe(true);
    expect(await hero.getAttribute("data-nb-block")).toBeNull();
  });
});

describe("a single-page app", () => {
  it("decides again after a history navigation, and decides slots that appear", async () => {
    const page = await browser.context.newPage();
    const decides = recordDecides(page);
    await visit(page, `${base}/`);
    await answerConsent(page, true);
    const before = decides.length;

    // The app renders a bags page and pushes its URL, as a router does.
    await page.evaluate(() => {
      document.querySelector('meta[name="nb:page-type"]')!.setAttribute("content", "category");
      document.head.insertAdjacentHTML("beforeend", '<meta name="nb:category" content="bags">');
      document.querySelector("main h1")!.textContent = "Bags";
      history.pushState({}, "", "/spa/bags");
    });
    await expect.poll(() => decides.length, { timeout: 10_000 }).toBe(before + 1);
    const navigated = decides.at(-1)!;
    expect(navigated.context.url).toBe(`${base}/spa/bags`);
    expect(navigated.slots).toEqual(["hero", "sidebar"]);
    expect(navigated.context.signals).toMatchObject({ pageType: "category", pageCategory: "bags", page_view: 2, categoryViews: { bags: 1 } });

    // A hash change is not a new page; a new slot element is decided on its own.
    await page.evaluate(() => history.replaceState({}, "", "/spa/bags#reviews"));
    await page.evaluate(() => document.querySelector("main")!.insertAdjacentHTML("beforeend", '<aside data-nb-slot="sidebar" id="late" class="slot">Later sidebar</aside>'));
    await page.locator("#late[data-nb-state=decided]").waitFor({ timeout: 10_000 });
    expect(decides.length).toBe(before + 2);
    expect(decides.at(-1)!.slots).toEqual(["sidebar"]);
    expect(await page.locator("#late").getAttribute("data-nb-block")).toMatch(/^sidebar-/);

    // Back to the first page: popstate decides again.
    await page.goBack();
    await expect.poll(() => decides.length, { timeout: 10_000 }).toBe(before + 3);
    expect(decides.at(-1)!.context.url).toBe(`${base}/`);
  });
});

describe("slots the edge filled (proxy mode)", () => {
  it("are not decided again but are measured with the edge's decision ids", async () => {
    const page = await browser.context.newPage();
    await visit(page, `${base}/`);
    await answerConsent(page, true); // also writes the nb_consent cookie the edge reads
    const decides = recordDecides(page);
    const exchanges = recordEvents(page);
    await page.goto(`${base}/edge/`);
    const hero = page.locator('[data-nb-slot="hero"]');
    expect(await hero.getAttribute("data-nb-source")).toBe("edge");
    const inlined = JSON.parse(await page.locator("#nb-decisions").textContent() ?? "[]") as { slot: string; decisionId: string }[];
    expect(inlined.map((d) => d.slot).sort()).toEqual(["hero", "sidebar"]);

    await page.waitForTimeout(1_500);
    await hidePage(page);
    await expect.poll(() => exchanges.length, { timeout: 10_000 }).toBe(1);
    expect(decides).toHaveLength(0);
    expect(exchanges[0]!.events.map((e) => [e.type, e.slot, e.decisionId]).sort()).toEqual(
      inlined.map((d) => ["impression", d.slot, d.decisionId]).sort(),
    );
    expect((await answerOf(exchanges[0]!)).body).toMatchObject({ accepted: 2, duplicates: 0 });
  });
});
