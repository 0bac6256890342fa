// Measurement in Chromium against the real Worker: impressions and clicks reach POST /v1/events
// exactly once, batched into a beacon when the page is hidden; offline they wait in IndexedDB.
import type { Page } from "playwright-core";
import { describe, expect, inject, it } from "vitest";
import { browserPerTest } from "./browser.ts";
import {
  allEvents, answerConsent, answerOf, hidePage, recordEvents, resend, storedKeys, storedOutcomes, storedVisitorId, visit, type SentEvent,
} from "./client-helpers.ts";

const base = inject("baseUrl");
const adminToken = inject("adminToken");
const browser = browserPerTest();

/** The decision ids the page's slots carry. */
function decisionIds(page: Page): Promise<Record<string, string>> {
  return page.evaluate(() =>
    Object.fromEntries([...document.querySelectorAll("[data-nb-decision]")].map((slot) => [slot.getAttribute("data-nb-slot"), slot.getAttribute("data-nb-decision")])),
  );
}

/** A visitor who accepted and browsed shoes: the home page's hero is a link to the shoes. */
async function shoeBrowser(page: Page): Promise<void> {
  await visit(page, `${base}/shoes.html`);
  await answerConsent(page, true);
  await visit(page, `${base}/product-trail-runner.html`);
  await visit(page, `${base}/shoes.html`);
}

describe("impressions and clicks in Chromium", () => {
  it("reach the Worker exactly once, in a beacon when the page is hidden", async () => {
    const page = await browser.context.newPage();
    await shoeBrowser(page);
    const exchanges = recordEvents(page); // from here on
    expect(await visit(page, `${base}/`)).toEqual({ block: "hero-shoes-trail", reason: "ranked" });
    const ids = await decisionIds(page);
    expect(Object.keys(ids).sort()).toEqual(["hero", "sidebar"]);

    // Both slots are in view; their impressions are due after a second, and wait for the page
    // to be hidden.
    await page.waitForTimeout(1_500);
    expect(exchanges).toHaveLength(0);
    await hidePage(page);
    await expect.poll(() => exchanges.length, { timeout: 10_000 }).toBe(1);
    await hidePage(page); // hidden again: nothing new to send
    await page.waitForTimeout(500);
    expect(exchanges).toHaveLength(1);
    const [beacon] = exchanges;
    expect(beacon!.contentType).toMatch(/^text\/plain/); // sendBeacon's type: no CORS preflight
    expect(beacon!.consent).toEqual({ analytics: true });
    expect(beacon!.events.map((e) => [e.type, e.slot, e.decisionId]).sort()).toEqual([
      ["impression", "hero", ids.hero],
      ["impression", "sidebar", ids.sidebar],
    ]);
    const visitorId = await storedVisitorId(page);
    expect(beacon!.events.every((e) => e.visitorId === visitorId)).toBe(true);
    expect(await answerOf(beacon!)).toEqual({ status: 202, body: { accepted: 2, duplicates: 0, rejected: [] } });

    // A click on the hero's link leaves with the page, in the beacon sent as it unloads.
    await page.locator('[data-nb-slot="hero"] a').click();
    await page.waitForURL(/\/shoes(\.html)?$/); // the assets serve /shoes.html as /shoes
    await page.locator('[data-nb-slot="hero"][data-nb-state="decided"]').waitFor();
    const click: SentEvent = { type: "click", eventId: `click:${ids.hero}`, visitorId: visitorId!, decisionId: ids.hero, blockId: "hero-shoes-trail", slot: "hero" };
    // Chromium does not show Playwright a beacon sent on unload; the Worker proves it arrived:
    // once stored (events reach D1 through the log queue), the click and both impressions sent
    // again are duplicates of what it already keeps.
    await storedOutcomes(base, adminToken, { [ids.hero!]: ["impression", "click"], [ids.sidebar!]: ["impression"] });
    expect(await resend(base, [click, ...beacon!.events])).toEqual({ status: 202, body: { accepted: 0, duplicates: 3, rejected: [] } });

    // Reloading and hiding sends the new page's events; none of the first page's again.
    await page.reload();
    await page.locator('[data-nb-slot="hero"][data-nb-state="decided"]').waitFor();
    await page.waitForTimeout(1_500);
    await hidePage(page);
    await expect.poll(() => exchanges.length, { timeout: 10_000 }).toBe(2);
    const second = exchanges[1]!;
    expect(second.events.map((e) => e.type)).toEqual(["impression", "impression"]);
    expect(second.events.some((e) => Object.values(ids).includes(e.decisionId!))).toBe(false);
    expect(await answerOf(second)).toEqual({ status: 202, body: { accepted: 2, duplicates: 0, rejected: [] } });
  });

  it("wait in IndexedDB while the browser is offline and are sent once it is back", async () => {
    const page = await browser.context.newPage();
    await visit(page, `${base}/`);
    await answerConsent(page, true);
    const exchanges = recordEvents(page);
    const ids = await decisionIds(page);
    await browser.context.setOffline(true);
    await page.waitForTimeout(1_500); // impressions due while offline: stored at once
    await expect.poll(() => storedKeys(page), { timeout: 10_000 }).toContain("nb:queue");
    await hidePage(page);
    expect(exchanges).toHaveLength(0);

    await browser.context.setOffline(false); // the "online" event sends the queue
    await expect.poll(() => exchanges.length, { timeout: 10_000 }).toBe(1);
    await expect.poll(() => storedKeys(page), { timeout: 10_000 }).toEqual(["nb:consent", "nb:session", "nb:visitor"]);
    const sent = allEvents(exchanges);
    expect(sent.map((e) => [e.type, e.decisionId]).sort()).toEqual(
      [["impression", ids.hero], ["impression", ids.sidebar]].sort(),
    );
    // The queue was cleared because the Worker took them: once stored, sent again, both are
    // duplicates.
    await storedOutcomes(base, adminToken, { [ids.hero!]: ["impression"], [ids.sidebar!]: ["impression"] });
    expect(await resend(base, sent)).toEqual({ status: 202, body: { accepted: 0, duplicates: 2, rejected: [] } });

    // Another page load does not send them again.
    await visit(page, `${base}/bags.html`);
    await page.waitForTimeout(500);
    expect(exchanges).toHaveLength(1);
  });
});
