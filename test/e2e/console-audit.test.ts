// The console's Decisions and Visitors pages in Chromium against the shared `wrangler dev`:
// decisions made for this file's own visitors reach the audit log (through the queue), are found
// by a search whose address can be linked, open as "why this block"; a visitor is previewed and
// erased through a typed confirmation, and the audit log no longer has them.
import type { Page } from "playwright-core";
import { beforeAll, describe, expect, inject, it } from "vitest";
import type { AuditRecord } from "../../worker/audit/record.ts";
import { browserPerTest } from "./browser.ts";
import { CONSOLE_VIEWPORTS, openPage, seriousViolations, signIn } from "./console-helpers.ts";

const base = inject("baseUrl");
const bearer = { authorization: `Bearer ${inject("adminToken")}` };
const browser = browserPerTest();
const run = `${Date.now().toString(36)}-${process.pid}`;
const SEARCHED = `ca-search-${run}`;
const ERASED = `ca-erase-${run}`;
const PREVIEWED = `ca-preview-${run}`;
const SLOTS = ["hero", "sidebar"];

/** A real decision with consent (recorded: audit rows through the queue). */
async function decide(visitorId: string): Promise<void> {
  const res = await fetch(`${base}/v1/decide`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ visitorId, slots: SLOTS, consent: { personalization: true, analytics: true }, context: { url: `${base}/shoes` } }),
  });
  expect(res.status).toBe(200);
}

/** The visitor's rows in the audit log, as the API answers them. */
async function logged(visitorId: string): Promise<AuditRecord[]> {
  const res = await fetch(`${base}/admin/decisions?${new URLSearchParams({ visitor: visitorId, limit: "50" })}`, { headers: bearer });
  expect(res.status).toBe(200);
  return ((await res.json()) as { decisions: AuditRecord[] }).decisions;
}

/** Nothing on the page is wider than the screen. */
const fitsScreen = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth <= innerWidth + 1);

beforeAll(async () => {
  for (const v of [SEARCHED, SEARCHED, ERASED]) await decide(v);
  // The audit log is written by the queue consumer: wait until every row is there.
  const deadline = Date.now() + 90_000;
  for (;;) {
    const [searched, erased] = [(await logged(SEARCHED)).length, (await logged(ERASED)).length];
    if (searched === 4 && erased === 2) break;
    if (Date.now() > deadline) throw new Error(`audit rows not logged in time: ${searched}/4 and ${erased}/2`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
});

describe("console: Decisions", () => {
  it("finds a visitor's decisions by a linkable search and explains one as 'why this block'", async () => {
    const page = await browser.context.newPage();
    await signIn(page, "ana", "decisions");
    await page.getByLabel("Visitor id", { exact: true }).fill(SEARCHED);
    await page.getByRole("button", { name: "Search" }).click();
    await expect.poll(() => page.evaluate(() => location.hash)).toBe(`#/decisions?visitor=${SEARCHED}`);
    const rows = page.locator("table.audit-list tbody tr");
    await expect.poll(() => rows.count(), { timeout: 30_000 }).toBe(4);

    // The same address opened afresh shows the same search (a link to a search works).
    await openPage(page, "decisions", "Decisions", `visitor=${SEARCHED}&slot=hero`);
    expect(await page.getByLabel("Visitor id", { exact: true }).inputValue()).toBe(SEARCHED);
    await expect.poll(() => rows.count(), { timeout: 30_000 }).toBe(2);

    const [record] = (await logged(SEARCHED)).filter((r) => r.slot === "hero");
    await page.getByRole("link", { name: `Why this block: ${record!.chosenBlockId} (decision ${record!.decisionId})` }).click();
    await page.getByRole("heading", { name: `Why ${record!.chosenBlockId}` }).waitFor({ timeout: 30_000 });
    expect(await page.evaluate(() => location.hash)).toBe(`#/decisions?id=${record!.decisionId}`);
    const facts = await page.locator(".why-facts").first().innerText();
    expect(facts).toContain(record!.chosenBlockId);
    expect(facts).toContain(record!.modelVersion ?? "none (no model ranked)");
    expect(facts).toContain(record!.decisionId);
    expect(facts).toContain(record!.holdout ? "yes" : "no (treatment)");
    const rules = await page.getByRole("region", { name: "Rule outcomes" }).innerText();
    for (const e of record!.excluded) {
      expect(rules).toContain(e.blockId);
      expect(rules).toContain(e.reason);
    }
    if (record!.excluded.length === 0) expect(rules).toContain("No block was excluded");
    const candidates = await page.getByRole("region", { name: "Candidates and scores" }).innerText();
    for (const c of record!.candidates) expect(candidates).toContain(c);

    // An id the log does not hold is the API's error, inline.
    await openPage(page, "decisions", "Decisions", "id=no-such-decision");
    await expect.poll(() => page.getByRole("alert").innerText()).toContain("not_found");
  });

  it.each(CONSOLE_VIEWPORTS)("has no serious axe violations at $width px (search results and one decision)", async (viewport) => {
    const page = await browser.context.newPage();
    await page.setViewportSize(viewport);
    await signIn(page, "ana", "decisions");
    await openPage(page, "decisions", "Decisions", `visitor=${SEARCHED}`);
    await page.locator("table.audit-list tbody tr").first().waitFor();
    expect(await seriousViolations(page)).toEqual([]);
    expect(await fitsScreen(page)).toBe(true);
    const [record] = await logged(SEARCHED);
    await openPage(page, "decisions", "Decisions", `id=${record!.decisionId}`);
    await page.getByRole("heading", { name: `Why ${record!.chosenBlockId}` }).waitFor();
    expect(await seriousViolations(page)).toEqual([]);
    expect(await fitsScreen(page)).toBe(true);
  });
});

describe("console: Visitors", () => {
  it("previews what a visitor would get now, per slot with every candidate's outcome, and records nothing", async () => {
    const page = await browser.context.newPage();
    await signIn(page, "ana", "visitors");
    await page.getByLabel("Visitor or customer id").fill(PREVIEWED);
    await page.getByRole("button", { name: "Look up" }).click();
    await expect.poll(() => page.evaluate(() => location.hash)).toBe(`#/visitors?visitor=${PREVIEWED}`);
    await page.getByText("No decision in the audit log matches.").waitFor({ timeout: 30_000 });
    // The same request through the API: the page shows what the route answers.
    const api = await fetch(`${base}/admin/preview`, {
      method: "POST",
      headers: { ...bearer, "content-type": "application/json" },
      body: JSON.stringify({ visitorId: PREVIEWED, slots: SLOTS, consent: { personalization: true, analytics: true }, context: {}, includeDrafts: false }),
    });
    const expected = (await api.json()) as { slots: { slot: string; decision: { block: { id: string } } }[] };
    await page.getByRole("checkbox", { name: "hero" }).waitFor();
    await page.getByRole("button", { name: "Preview" }).click();
    for (const s of expected.slots) {
      await page.getByRole("heading", { name: `Slot ${s.slot}: ${s.decision.block.id}` }).waitFor({ timeout: 30_000 });
      expect(await page.getByRole("table", { name: `Why ${s.decision.block.id} in ${s.slot}: every candidate` }).innerText()).toContain("served");
    }
    expect(await logged(PREVIEWED)).toEqual([]);
  });

  it("erases a visitor only after the id is typed, shows the counts, and the audit log no longer has them", async () => {
    const page = await browser.context.newPage();
    await signIn(page, "ana", "visitors");
    await openPage(page, "visitors", "Visitors", `visitor=${ERASED}`);
    await expect.poll(() => page.locator("table.audit-list tbody tr").count(), { timeout: 30_000 }).toBe(2);
    await page.getByRole("button", { name: "Erase visitor…" }).click();
    const confirm = page.getByRole("button", { name: "Erase permanently" });
    expect(await confirm.isDisabled()).toBe(true);
    const typed = page.getByLabel(`Type the visitor id ${ERASED} to confirm`);
    await typed.fill(`${ERASED}x`);
    expect(await confirm.isDisabled()).toBe(true);
    await typed.fill(ERASED);
    await confirm.click();
    await page.getByRole("heading", { name: `Erased ${ERASED}` }).waitFor({ timeout: 30_000 });
    const counts = page.getByRole("table", { name: `Removed for visitor ${ERASED}` });
    expect(await counts.getByRole("row", { name: /decisions/ }).innerText()).toMatch(/decisions\s+2/);
    expect(await page.locator(".erasure-result").innerText()).toContain("Complete.");
    await page.getByText("No decision in the audit log matches.").waitFor({ timeout: 30_000 });
    expect(await logged(ERASED)).toEqual([]);
  });

  it.each(CONSOLE_VIEWPORTS)("has no serious axe violations at $width px (lookup, preview answer, confirmation)", async (viewport) => {
    const page = await browser.context.newPage();
    await page.setViewportSize(viewport);
    await signIn(page, "ana", "visitors");
    expect(await seriousViolations(page)).toEqual([]);
    await openPage(page, "visitors", "Visitors", `visitor=${SEARCHED}`);
    await page.locator("table.audit-list tbody tr").first().waitFor();
    await page.getByRole("checkbox", { name: "hero" }).waitFor();
    await page.getByRole("button", { name: "Preview" }).click();
    await page.getByRole("heading", { name: /^Slot hero: / }).waitFor({ timeout: 30_000 });
    await page.getByRole("button", { name: "Erase visitor…" }).click();
    await page.getByRole("button", { name: "Erase permanently" }).waitFor();
    expect(await seriousViolations(page)).toEqual([]);
    expect(await fitsScreen(page)).toBe(true);
  });
});
