// The console's overview and experiments pages in Chromium over the shared dev server: real
// traffic (consented visitors deciding and clicking) flows through the queue into the reports;
// the overview charts it (its kill switch is tested on a server of its own: console-operations); the
// experiments page shows lift with intervals and the SRM warning the API raises.
import { beforeAll, describe, expect, inject, it } from "vitest";
import { browserPerTest } from "./browser.ts";
import { CONSOLE_VIEWPORTS, openPage, seriousViolations, signIn } from "./console-helpers.ts";

const base = inject("baseUrl");
const ADMIN = { authorization: `Bearer ${inject("adminToken")}` };
const browser = browserPerTest();
const RUN = `insight-${process.pid}-${Date.now().toString(36)}`;
const CONSENT = { personalization: true, analytics: true };

interface Decision {
  slot: string;
  decisionId: string;
  block: { id: string };
  reason: string;
}

async function decide(visitorId: string): Promise<Decision> {
  const res = await fetch(`${base}/v1/decide`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ visitorId, slots: ["hero"], consent: CONSENT, context: { signals: { pageType: "category", pageCategory: "shoes" } } }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { decisions: Decision[] }).decisions[0]!;
}

async function adminJson<T>(path: string): Promise<T> {
  const res = await fetch(`${base}${path}`, { headers: ADMIN });
  expect(res.status).toBe(200);
  return (await res.json()) as T;
}

const VISITORS = 12;

beforeAll(async () => {
  const before = await adminJson<{ treatment: { visitors: number; conversions: number } }>("/admin/reports/lift?kpi=click");
  // Twelve consented visitors decide; the first six see and click their block.
  for (let i = 0; i < VISITORS; i++) {
    const visitorId = `${RUN}-v${i}`;
    const d = await decide(visitorId);
    const events = [{ type: "impression", decisionId: d.decisionId, visitorId, blockId: d.block.id, slot: d.slot }];
    if (i < VISITORS / 2) events.push({ type: "click", decisionId: d.decisionId, visitorId, blockId: d.block.id, slot: d.slot });
    const res = await fetch(`${base}/v1/events`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ consent: { analytics: true }, events }) });
    expect(res.status).toBe(202);
  }
  // The queue consumer folds them into the aggregates the reports read (expect.poll is for tests).
  const deadline = Date.now() + 150_000;
  for (;;) {
    const now = await adminJson<{ treatment: { conversions: number } }>("/admin/reports/lift?kpi=click");
    if (now.treatment.conversions - before.treatment.conversions >= VISITORS / 2) break;
    if (Date.now() > deadline) throw new Error(`clicks not in the lift report after 150 s: ${now.treatment.conversions} (before ${before.treatment.conversions})`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}, 200_000);

describe("console overview", () => {
  it("charts decisions per day and shows the universal control group's lift figures", async () => {
    const page = await browser.context.newPage();
    await signIn(page, "insight-ana");
    await page.getByRole("heading", { name: "Health" }).waitFor();
    await page.getByRole("heading", { name: "Decisions per day" }).waitFor();
    const total = await page.getByTestId("decisions-total").innerText();
    expect(Number(total.match(/^(\d+) decisions/)?.[1])).toBeGreaterThanOrEqual(VISITORS);
    // The Plot charts are drawn (SVG), named for screen readers.
    await page.getByRole("img", { name: /Decisions per day by reason/ }).locator("svg").first().waitFor();
    await page.getByRole("img", { name: /personalised/ }).locator("svg").first().waitFor();
    // Lift figures on the click KPI: the treatment's visitors and rate.
    await page.getByLabel("KPI").selectOption("click");
    await expect.poll(() => page.getByTestId("universal-lift").innerText(), { timeout: 15_000 }).toMatch(/Treatment \d+\.\d% of \d+ visitors, control/);
    await page.getByRole("heading", { name: "Log pipeline" }).waitFor();
    expect(await page.getByRole("table", { name: "Log pipeline (queue to D1)" }).innerText()).toContain("decisions");
    expect(await page.locator("ul.models").innerText()).toMatch(/Champion: \S+@[0-9a-f]{12}/);
  });
});

describe("console experiments", () => {
  it("shows lift with intervals, the minimum detectable lift, the methods, and the SRM warning the API raises", async () => {
    const page = await browser.context.newPage();
    await signIn(page, "insight-ana", "experiments");
    // The e2e server has no universal control group: against an expected 50% control the API flags SRM.
    await openPage(page, "experiments", "Experiments", "kpi=click&controlShare=0.5");
    const universal = page.getByRole("article", { name: "All campaigns vs the universal control group" });
    await universal.getByRole("alert").waitFor({ timeout: 30_000 });
    expect(await universal.getByRole("alert").innerText()).toContain("Sample ratio mismatch");
    const summary = await universal.locator(".lift-summary").innerText();
    expect(summary).toContain("KPI click");
    expect(summary).toContain("Minimum detectable lift");
    // The treatment's click rate with its interval, as a chart with its figures in the label.
    const rates = universal.getByRole("img", { name: /click rate per arm/ });
    expect(await rates.getAttribute("aria-label")).toMatch(/Treatment, \d+\/\d+ · up: \+\d+\.\d+% \(\+\d+\.\d+% to \+\d+\.\d+%\)/);
    await rates.locator("svg").first().waitFor();
    expect(await universal.locator(".methods").innerText()).toContain("Newcombe");
    // Without the override the configured split (no control) is met: no SRM warning.
    await openPage(page, "experiments", "Experiments", "kpi=click");
    await universal.locator(".lift-summary").waitFor();
    await expect.poll(() => universal.getByRole("alert").count(), { timeout: 15_000 }).toBe(0);
    await page.getByRole("heading", { name: "Per moment" }).waitFor();
  });
});

describe("console insight accessibility", () => {
  it("overview and experiments have no serious or critical axe violations at 1280 px and 390 px, nothing wider than the screen", async () => {
    const page = await browser.context.newPage();
    await signIn(page, "insight-axe");
    for (const viewport of CONSOLE_VIEWPORTS) {
      await page.setViewportSize(viewport);
      for (const [id, title] of [["overview", "Overview"], ["experiments", "Experiments"]] as const) {
        await openPage(page, id, title);
        expect(await seriousViolations(page), `${id} at ${viewport.width} px`).toEqual([]);
        expect(await page.evaluate(() => document.documentElement.scrollWidth <= innerWidth + 1), `${id} at ${viewport.width} px`).toBe(true);
      }
    }
  });
});
