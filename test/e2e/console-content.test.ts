// The console's Content and Guardrails pages in Chromium: a block created by one person, refused
// approval by its own author (four eyes), approved by another, seen in the page's sandboxed
// preview and then on the demo shop, and archived; a bad guardrail edit shown inline with nothing
// saved; axe at desktop and phone widths.
import { mkdirSync } from "node:fs";
import type { Page } from "playwright-core";
import { afterAll, describe, expect, inject, it } from "vitest";
import { browserPerTest, openBrowser } from "./browser.ts";
import { CONSOLE_VIEWPORTS, openPage, seriousViolations, signIn } from "./console-helpers.ts";
import { clickConsent } from "./client-helpers.ts";

const base = inject("baseUrl");
const admin = { authorization: `Bearer ${inject("adminToken")}`, "content-type": "application/json" };
const browser = browserPerTest();
/** This run's block: only a visitor arriving with `utm_campaign=<id>` can get it, so no other test sees it. */
const blockId = `console-e2e-${Date.now().toString(36)}`;

/**
 * Opens the Content page without waiting for every section (the performance report reads the
 * aggregates and may take a while on a loaded machine; the block sections do not need it).
 */
async function openContent(page: Page, query = ""): Promise<void> {
  await page.goto(`${base}/console/#/content${query ? `?${query}` : ""}`);
  await page.getByRole("heading", { level: 1, name: "Content" }).waitFor({ timeout: 30_000 });
}

afterAll(async () => {
  // Whatever happened, the block does not stay serving for other test files.
  await fetch(`${base}/admin/catalog/blocks/${blockId}/archive`, { method: "POST", headers: admin }).catch(() => undefined);
});

describe("console: content", () => {
  it("creates a block as ana, refuses ana's approval, approves it as bo, previews it, serves it on the shop, archives it", { timeout: 240_000 }, async () => {
    const page = await browser.context.newPage();
    await signIn(page, "ana", "content");
    await openContent(page);
    const form = page.locator("form.block-editor").last();
    await form.getByLabel("Id").fill(blockId);
    await form.getByLabel("Slots (comma-separated)").fill("sidebar");
    await form.getByLabel("Campaign").fill("console-e2e");
    await form.getByLabel("Category").fill("general");
    await form.getByLabel("Priority (0–100)").fill("100");
    await form.getByLabel("Value of a conversion").fill("1000");
    await form.getByLabel("HTML").fill(`<div class="nb-block"><h3>Console e2e ${blockId}</h3><img src="/favicon.svg" alt="" onerror="alert(1)"><script>alert(1)</script></div>`);
    await form.getByLabel(/Other rules/).fill(JSON.stringify({ condition: { "==": [{ var: "utm.campaign" }, blockId] } }));
    await form.getByRole("button", { name: "Create draft" }).click();
    // The sanitiser's report, as the API gave it.
    const report = form.locator(".sanitiser");
    await expect.poll(() => report.innerText(), { timeout: 30_000 }).toContain("removed 2 things");
    expect(await report.innerText()).toContain("element script");
    expect(await report.innerText()).toContain("attribute img onerror");

    // The page opened the new block: a draft, and its author may not approve it.
    const detail = page.locator('section[aria-labelledby="h-block-detail"]');
    await expect.poll(() => detail.locator(".status").innerText(), { timeout: 30_000 }).toBe("draft");
    await detail.getByRole("button", { name: "Approve" }).click();
    await expect.poll(() => detail.getByRole("alert").innerText(), { timeout: 30_000 }).toContain("four eyes");

    // An edit of the draft: the editor shows what the sanitiser took out, and the saved HTML.
    const editor = detail.locator("form.block-editor");
    await editor.getByLabel("HTML").fill(`<div class="nb-block"><h3>Console e2e ${blockId}</h3><a href="javascript:alert(1)">Go</a></div>`);
    await editor.getByRole("button", { name: "Save changes" }).click();
    await expect.poll(() => editor.locator(".sanitiser").innerText(), { timeout: 30_000 }).toContain("a href javascript:");
    expect(await editor.getByLabel("HTML").inputValue()).not.toContain("javascript:");

    // Another person approves it.
    const other = await openBrowser();
    try {
      const bo = await other.context.newPage();
      await signIn(bo, "bo", "content");
      await openContent(bo, `block=${blockId}`);
      const boDetail = bo.locator('section[aria-labelledby="h-block-detail"]');
      await boDetail.getByRole("button", { name: "Approve" }).click();
      await expect.poll(() => boDetail.locator(".status").innerText(), { timeout: 30_000 }).toBe("approved");
      expect(await boDetail.innerText()).toContain("approved by bo");

      // The preview: a visitor from this campaign gets the block, rendered in a sandboxed frame.
      await boDetail.getByLabel(/Visitor signals/).fill(JSON.stringify({ utm: { campaign: blockId } }));
      await boDetail.getByRole("button", { name: "Preview" }).click();
      await expect.poll(() => boDetail.locator(".preview-outcome").innerText(), { timeout: 30_000 }).toContain(`would see ${blockId}`);
      const frame = boDetail.locator("iframe.preview-frame");
      expect(await frame.getAttribute("sandbox")).toBe("");
      await bo.frameLocator("iframe.preview-frame").getByText(`Console e2e ${blockId}`).waitFor({ timeout: 30_000 });
      expect(await bo.frameLocator("iframe.preview-frame").locator("script").count()).toBe(0);

      // History: the approval's diff names its approver, marked "added" in text.
      await boDetail.getByRole("button", { name: /^Show diff of version/ }).first().click();
      const diff = boDetail.getByRole("list", { name: /Changes to .* in version/ });
      await expect.poll(async () => (await diff.locator("li").allTextContents()).join("\n"), { timeout: 30_000 }).toMatch(/^\+added: \s*"approvedBy": "bo"/m);

      // The demo shop serves it to a consented visitor arriving from the campaign (the serving
      // catalog is cached for a few seconds, so look again until it is there; a visitor who
      // falls in the universal control group sees defaults by design, so another one looks).
      const url = `${base}/?utm_campaign=${blockId}`;
      let served: { block: string | null; text: string } | undefined;
      for (let visitor = 0; visitor < 4 && !served; visitor++) {
        const shop = await openBrowser(); // a new profile: a new visitor
        try {
          const page = await shop.context.newPage();
          await page.goto(url);
          await clickConsent(page, true); // stored before the next page is opened
          const slot = page.locator('[data-nb-slot="sidebar"]');
          let reason: string | null = null;
          await expect
            .poll(
              async () => {
                await page.goto(url);
                await page.locator('[data-nb-slot="sidebar"][data-nb-reason]').waitFor({ timeout: 30_000 });
                reason = await slot.getAttribute("data-nb-reason");
                return reason === "holdout" ? "holdout" : await slot.getAttribute("data-nb-block");
              },
              { timeout: 90_000, interval: 1_000 },
            )
            .toSatisfy((v) => v === blockId || v === "holdout");
          if (reason !== "holdout") served = { block: await slot.getAttribute("data-nb-block"), text: await slot.innerText() };
        } finally {
          await shop.close();
        }
      }
      expect(served?.block).toBe(blockId);
      expect(served?.text).toContain(`Console e2e ${blockId}`);

      // Archived: it no longer serves.
      await boDetail.getByRole("button", { name: "Archive" }).click();
      await expect.poll(() => boDetail.locator(".status").innerText(), { timeout: 30_000 }).toBe("archived");
      const answer = (await (await fetch(`${base}/admin/catalog/blocks/${blockId}`, { headers: admin })).json()) as { status: string; review: { editedBy: string; approvedBy: string } };
      expect(answer).toMatchObject({ status: "archived", review: { editedBy: "ana", approvedBy: "bo" } });
    } finally {
      await other.close();
    }
  });
});

describe("console: guardrails", () => {
  it("shows a bad edit inline as path: message and saves nothing", { timeout: 120_000 }, async () => {
    const before = (await (await fetch(`${base}/admin/guardrails`, { headers: admin })).json()) as { version: number };
    const page = await browser.context.newPage();
    await signIn(page, "ana", "guardrails");
    await openPage(page, "guardrails", "Guardrails");
    await expect.poll(() => page.locator(".guardrails-version").innerText(), { timeout: 30_000 }).toBe(String(before.version));
    await page.getByRole("button", { name: "Add a global cap" }).click();
    await page.getByLabel("Cap 1: at most").fill("-1");
    await page.getByRole("button", { name: "Save as a new version" }).click();
    const error = page.locator("form.guardrails-form").getByRole("alert");
    await expect.poll(() => error.innerText(), { timeout: 30_000 }).toContain("frequencyCaps.global.0.limit:");
    expect(await error.innerText()).toContain("invalid_config");

    // The same as JSON.
    await page.getByRole("button", { name: "JSON" }).click();
    await page.getByLabel("Configuration (JSON)").fill(JSON.stringify({ latencyBudgetMs: -5 }));
    await page.getByRole("button", { name: "Save as a new version" }).click();
    await expect.poll(() => error.innerText(), { timeout: 30_000 }).toContain("latencyBudgetMs:");

    const after = (await (await fetch(`${base}/admin/guardrails`, { headers: admin })).json()) as { version: number };
    expect(after.version).toBe(before.version);
    expect(await page.locator(".guardrails-version").innerText()).toBe(String(before.version));
    // The history lists who saved each version.
    await page.getByRole("table", { name: "Saved versions, newest first" }).waitFor();
  });
});

describe("console: content and guardrails accessibility", () => {
  it.each(CONSOLE_VIEWPORTS)("no serious or critical axe violations at $width px", { timeout: 120_000 }, async (viewport) => {
    const page = await browser.context.newPage();
    await page.setViewportSize(viewport);
    await signIn(page, "ana", "content");
    await openPage(page, "content", "Content", "block=hero-default");
    await page.locator('section[aria-labelledby="h-block-detail"] iframe.preview-frame').waitFor({ timeout: 30_000 });
    expect(await seriousViolations(page)).toEqual([]);
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= innerWidth + 1)).toBe(true);
    mkdirSync("test-results", { recursive: true });
    await page.screenshot({ path: `test-results/console-content-${viewport.width}.png`, fullPage: true });
    await openPage(page, "guardrails", "Guardrails");
    await page.locator(".guardrails-version").waitFor();
    expect(await seriousViolations(page)).toEqual([]);
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= innerWidth + 1)).toBe(true);
    await page.screenshot({ path: `test-results/console-guardrails-${viewport.width}.png`, fullPage: true });
  });
});
