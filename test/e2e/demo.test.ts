import { mkdirSync } from "node:fs";
import type { Page } from "playwright-core";
import { describe, expect, inject, it } from "vitest";
import { browserPerTest } from "./browser.ts";
import { storedKeys, visit as visitUrl } from "./client-helpers.ts";

const base = inject("baseUrl");
/** Opens a page of the demo and waits until its hero slot has been decided. */
const visit = (page: Page, path: string) => visitUrl(page, `${base}${path}`);
const browser = browserPerTest();

describe("the demo shop in Chromium", () => {
  it("personalises the hero after the visitor browses shoes", async () => {
    const page = await browser.context.newPage();
    expect(await visit(page, "/")).toEqual({ block: "hero-default", reason: "default" });
    expect(await storedKeys(page)).toEqual([]);

    await page.getByRole("button", { name: "Accept personalisation" }).click();
    await page.locator('[data-nb-slot="hero"][data-nb-reason="ranked"]').waitFor();
    await page.waitForFunction(async () => (await (window as unknown as { nextbest: { consentState(): Promise<unknown> } }).nextbest.consentState()) !== undefined);

    await visit(page, "/shoes.html");
    await visit(page, "/product-trail-runner.html");
    await visit(page, "/shoes.html");
    const home = await visit(page, "/");
    expect(home).toEqual({ block: "hero-shoes-trail", reason: "ranked" });
    await expect(page.locator('[data-nb-slot="hero"]').innerText()).resolves.toContain("running shoes");
    expect(await page.locator('[data-nb-slot="sidebar"]').getAttribute("data-nb-block")).toBe("sidebar-shoes-care");
    expect(await storedKeys(page)).toEqual(["nb:consent", "nb:session", "nb:visitor"]);

    mkdirSync("test-results", { recursive: true });
    await page.screenshot({ path: "test-results/demo-home-after-shoes.png" });

    // Browsing bags instead moves the recommendation with the visitor.
    for (let i = 0; i < 4; i++) await visit(page, "/bags.html");
    expect((await visit(page, "/")).block).toBe("hero-bags-travel");
  });

  it("keeps default content and stores nothing, not even the answer, when the visitor declines", async () => {
    const page = await browser.context.newPage();
    await visit(page, "/shoes.html");
    await page.getByRole("button", { name: "Decline" }).click();
    // A refusal is kept in memory only (it refuses device storage too); wait until it applies.
    await page.waitForFunction(async () => (await (window as unknown as { nextbest: { consentState(): Promise<unknown> } }).nextbest.consentState()) !== undefined);
    await visit(page, "/shoes.html");
    const again = await visit(page, "/shoes.html");
    expect(again).toEqual({ block: "hero-default", reason: "default" });
    expect(await storedKeys(page)).toEqual([]);
  });

  it("fills slots without shifting the layout outside them", async () => {
    const page = await browser.context.newPage();
    await page.addInitScript(() => {
      (window as unknown as { __cls: number }).__cls = 0;
      new PerformanceObserver((list) => {
        for (const e of list.getEntries() as Array<PerformanceEntry & { value: number }>) (window as unknown as { __cls: number }).__cls += e.value;
      }).observe({ type: "layout-shift", buffered: true });
    });
    await page.goto(`${base}/`);
    await page.getByRole("button", { name: "Accept personalisation" }).click();
    await page.locator('[data-nb-slot="hero"][data-nb-reason="ranked"]').waitFor();
    const before = await page.locator("main h1, main h2").first().boundingBox();
    await visit(page, "/");
    const after = await page.locator("main h1, main h2").first().boundingBox();
    expect(after).toEqual(before);
    const cls = await page.evaluate(() => (window as unknown as { __cls: number }).__cls);
    expect(cls).toBeLessThan(0.01);
  });
});
