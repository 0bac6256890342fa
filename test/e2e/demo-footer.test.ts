// The demo explains itself: the footer says which reason each slot got and what it means, on
// the client-side pages and on the /edge/ pages; a control-group visitor is told so and can
// start over as a new visitor.
import type { Page } from "playwright-core";
import { describe, expect, inject, it } from "vitest";
import { browserPerTest } from "./browser.ts";
import { answerConsent, storedKeys, visit } from "./client-helpers.ts";

const base = inject("baseUrl");
const browser = browserPerTest();

/** The footer's line for a slot, once the footer has described it. */
async function footerLine(page: Page, slot: string): Promise<string> {
  const item = page.locator("#nb-debug li", { hasText: `${slot}: ` });
  await item.first().waitFor();
  return item.first().innerText();
}

/** An answer to `POST /v1/decide` as the Worker gives it to a visitor of the control group. */
function controlGroupAnswer(slots: string[]) {
  return {
    decisions: slots.map((slot) => ({
      slot,
      decisionId: `00000000-0000-4000-8000-00000000000${slots.indexOf(slot)}`,
      block: { id: `${slot}-default`, html: `<div class="nb-block nb-general"><h2>Default ${slot}</h2></div>` },
      holdout: true,
      propensity: 1,
      modelVersion: null,
      reason: "holdout",
    })),
  };
}

describe("the demo's footer", () => {
  it("explains a ranked slot and a slot without consent", async () => {
    const page = await browser.context.newPage();
    await visit(page, `${base}/shoes.html`);
    expect(await footerLine(page, "hero")).toMatch(/^hero: default · hero-default — no personalisation consent/);
    await answerConsent(page, true);
    await expect.poll(() => footerLine(page, "hero")).toMatch(/^hero: ranked · hero-\S+ · model \S+@[0-9a-f]{12} — the model scored the blocks/);
    expect(await footerLine(page, "sidebar")).toMatch(/^sidebar: ranked · sidebar-\S+ · model \S+ — /);
    expect(await page.locator("#nb-debug").innerText()).not.toContain("control group");
  });

  it("tells a control-group visitor so, and starts over as a new visitor", async () => {
    const page = await browser.context.newPage();
    await visit(page, `${base}/`);
    await answerConsent(page, true);
    expect(await page.evaluate(() => document.cookie)).toContain("nb_consent=");
    // From here on the Worker answers as it does for the 1 visitor in 20 of the control group.
    await page.route("**/v1/decide", async (route) => {
      const { slots } = route.request().postDataJSON() as { slots: string[] };
      await route.fulfill({ json: controlGroupAnswer(slots) });
    });
    await visit(page, `${base}/bags.html`);
    expect(await footerLine(page, "hero")).toContain("hero: holdout · hero-default — you are in the control group");
    const note = page.locator("#nb-debug .nb-holdout-note");
    await expect.poll(() => note.innerText()).toContain("To try again as a new visitor");
    expect(await storedKeys(page)).toEqual(["nb:consent", "nb:session", "nb:visitor"]);

    await page.unroute("**/v1/decide");
    const reloaded = page.waitForEvent("load");
    await note.getByRole("button", { name: "Start over as a new visitor" }).click();
    await reloaded;
    // A first visit again: nothing stored, no consent cookie, the question asked again.
    await page.locator('[data-nb-slot="hero"][data-nb-reason="default"]').waitFor();
    expect(await storedKeys(page)).toEqual([]);
    expect(await page.evaluate(() => document.cookie)).not.toContain("nb_consent=");
    await page.locator("#nb-consent").waitFor({ state: "visible" });
  });

  it("on an /edge/ page, says the edge filled the slots and with which model", async () => {
    const page = await browser.context.newPage();
    await browser.context.addCookies([
      { name: "nb_consent", value: "personalization%3D1%26analytics%3D1", url: base },
      { name: "nb_vid", value: "e2e-footer-edge-1", url: base },
    ]);
    await page.goto(`${base}/edge/shoes`);
    const hero = await footerLine(page, "hero");
    expect(hero).toMatch(/^hero: ranked at the edge · hero-\S+ · model \S+@[0-9a-f]{12} — filled by the Worker in the page's HTML/);
    expect(await page.locator('[data-nb-slot="hero"]').getAttribute("data-nb-source")).toBe("edge");
    const footer = await page.locator("#nb-debug").innerText();
    expect(footer).not.toContain("model none");
    expect(footer).not.toContain("no answer");
  });
});
