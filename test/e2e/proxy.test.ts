import { mkdirSync } from "node:fs";
import type { BrowserContext } from "playwright-core";
import { afterEach, describe, expect, inject, it } from "vitest";
import { openBrowser } from "./browser.ts";
import { answerConsent } from "./client-helpers.ts";

const base = inject("baseUrl");
let browser: Awaited<ReturnType<typeof openBrowser>> | undefined;

afterEach(async () => {
  await browser?.close();
  browser = undefined;
});

/** A visitor who accepted personalisation earlier (the consent cookie the client or a CMP writes). */
async function consented(context: BrowserContext, visitorId: string) {
  await context.addCookies([
    { name: "nb_consent", value: "personalization%3D1%26analytics%3D1", url: base },
    { name: "nb_vid", value: visitorId, url: base },
  ]);
}

describe("proxy mode in Chromium: slots filled in the HTML at the edge", () => {
  it("shows the personalised block with JavaScript disabled", async () => {
    browser = await openBrowser({ javaScriptEnabled: false });
    await consented(browser.context, "e2e-proxy-nojs-1");
    const page = await browser.context.newPage();
    for (let i = 0; i < 3; i++) await page.goto(`${base}/edge/jackets`);
    await page.goto(`${base}/edge/`);
    const hero = page.locator('[data-nb-slot="hero"]');
    expect(await hero.getAttribute("data-nb-source")).toBe("edge");
    expect(await hero.getAttribute("data-nb-block")).toBe("hero-jackets-rain");
    expect(await hero.innerText()).toContain("Rain-ready shells");
    mkdirSync("test-results", { recursive: true });
    await page.screenshot({ path: "test-results/proxy-no-js.png" });
  });

  it("has the personalised block in the first contentful paint", async () => {
    browser = await openBrowser();
    await consented(browser.context, "e2e-proxy-fcp-1");
    const page = await browser.context.newPage();
    // Recorded by the page itself when Chromium reports the first contentful paint.
    await page.addInitScript(() => {
      new PerformanceObserver((list) => {
        if (list.getEntries().some((e) => e.name === "first-contentful-paint")) {
          const hero = document.querySelector('[data-nb-slot="hero"]');
          (window as unknown as { __atFcp: string }).__atFcp = `${hero?.getAttribute("data-nb-block")}|${hero?.textContent?.trim().slice(0, 40)}`;
        }
      }).observe({ type: "paint", buffered: true });
    });
    for (let i = 0; i < 3; i++) await page.goto(`${base}/edge/bags`);
    await page.goto(`${base}/edge/`);
    await page.waitForFunction(() => (window as unknown as { __atFcp?: string }).__atFcp !== undefined);
    const atFcp = await page.evaluate(() => (window as unknown as { __atFcp: string }).__atFcp);
    expect(atFcp).toMatch(/^hero-bags-travel\|Pack lighter/);
    // The client script did not decide those slots again.
    await page.waitForLoadState("networkidle");
    expect(await page.locator('[data-nb-slot="hero"]').getAttribute("data-nb-source")).toBe("edge");
  });
});

describe("proxy mode in Chromium: caching and navigation", () => {
  it("a page the browser cached before consent is not revalidated into an unpersonalised one", async () => {
    browser = await openBrowser({ javaScriptEnabled: false });
    const page = await browser.context.newPage();
    await page.goto(`${base}/edge/`);
    const hero = page.locator('[data-nb-slot="hero"]');
    expect(await hero.getAttribute("data-nb-source")).toBeNull();
    // The visitor consents (the client script or a CMP writes the cookie) and comes back: the
    // browser revalidates its copy, and must get the personalised page, not a 304.
    await consented(browser.context, "e2e-proxy-cache-1");
    await page.goto(`${base}/edge/`);
    expect(await hero.getAttribute("data-nb-source")).toBe("edge");
  });

  it("navigation stays behind the prefix for every visitor, with or without consent", async () => {
    for (const consent of [false, true]) {
      browser = await openBrowser({ javaScriptEnabled: false });
      if (consent) await consented(browser.context, "e2e-proxy-nav-1");
      const page = await browser.context.newPage();
      await page.goto(`${base}/edge/`);
      await Promise.all([page.waitForURL((u) => u.href.startsWith(`${base}/edge/bags`)), page.locator('nav a[href$="bags.html"]').first().click()]);
      expect(await page.locator('[data-nb-slot="hero"]').getAttribute("data-nb-source")).toBe(consent ? "edge" : null);
      await browser.close();
      browser = undefined;
    }
  });

  it("a block nb.js fills after consent is given in the page links behind the prefix, as the edge's do", async () => {
    browser = await openBrowser();
    const page = await browser.context.newPage();
    await page.goto(`${base}/edge/shoes`); // no consent yet: the edge fills nothing
    expect(await page.locator('[data-nb-slot="hero"]').getAttribute("data-nb-source")).toBeNull();
    await answerConsent(page, true); // nb.js decides the slots and fills them
    const links = await page.locator('[data-nb-slot][data-nb-state="decided"] a[href]').evaluateAll((as) => as.map((a) => a.getAttribute("href")));
    expect(links.length).toBeGreaterThan(0);
    for (const link of links) expect(link).toMatch(/^\/edge\//);
  });
});
