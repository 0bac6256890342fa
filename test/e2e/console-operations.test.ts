// The console's Operations page and the overview's kill switch in Chromium. The kill switch
// changes every decision of the server it is turned on in, so these tests would change other
// files' decisions on the shared server: this file starts its own `wrangler dev` (as
// alerts.test.ts does), opens an incident there, acknowledges and resolves it on the page, and
// turns the kill switch on and off from the overview. Moments, channels and deliveries are
// read-only tables of the same server.
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevServer, type DevServer } from "../../scripts/dev-server.ts";
import { browserPerTest } from "./browser.ts";
import { CONSOLE_VIEWPORTS, seriousViolations } from "./console-helpers.ts";

const TOKEN = "ops-console-e2e-token";
const browser = browserPerTest();
let worker: DevServer;

const admin = (path: string, method = "GET", body?: unknown) =>
  fetch(`${worker.url}${path}`, { method, headers: { authorization: `Bearer ${TOKEN}`, ...(body ? { "content-type": "application/json" } : {}) }, body: body ? JSON.stringify(body) : undefined });

interface Incident { id: number; kind: string; state: string; updatedBy: string }
const incidents = async (state: string): Promise<Incident[]> => ((await (await admin(`/admin/incidents?state=${state}`)).json()) as { incidents: Incident[] }).incidents;

beforeAll(async () => {
  worker = await startDevServer({ timeoutMs: 240_000, vars: { ADMIN_TOKEN: TOKEN, HOLDOUT_RATE: "0", EXPLORATION_EPSILON: "0", RATE_LIMIT_MODE: "report" } });
  // The kill switch on is an incident (ops.kill_switch); the governance run opens it, then the
  // switch goes off again (the incident stays open until resolved or the next run).
  expect((await admin("/admin/kill-switch", "POST", { on: true, reason: "console e2e" })).status).toBe(200);
  expect((await admin("/admin/incidents/run", "POST")).status).toBe(202);
  const deadline = Date.now() + 60_000;
  while ((await incidents("open")).length === 0) {
    if (Date.now() > deadline) throw new Error("the governance run opened no incident");
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  expect((await admin("/admin/kill-switch", "POST", { on: false })).status).toBe(200);
});

afterAll(async () => {
  await worker?.stop();
});

async function signIn(page: Page, query = "", name = "ops-ana", id = "operations", title = "Operations"): Promise<void> {
  await page.goto(`${worker.url}/console/#/${id}${query}`);
  await page.getByLabel("Your name").fill(name);
  await page.getByLabel("Admin token").fill(TOKEN);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { level: 1, name: title }).waitFor();
}

async function decide(visitorId: string): Promise<{ reason: string }> {
  const res = await fetch(`${worker.url}/v1/decide`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ visitorId, slots: ["hero"], consent: { personalization: true, analytics: true } }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { decisions: { reason: string }[] }).decisions[0]!;
}

async function killSwitch(page: Page, on: boolean): Promise<void> {
  await page.getByRole("button", { name: on ? "Turn kill switch on…" : "Turn kill switch off…" }).click();
  // What will happen, read as one sentence after another (htm drops the line break between them).
  expect(await page.locator("form.confirm p").first().innerText()).toMatch(on ? /are cancelled, not sent later\. Every server follows within \d+ s\./ : /stay cancelled\)\. Every server follows within \d+ s\./);
  await page.getByRole("textbox", { name: /^Reason/ }).fill(`e2e ${on ? "on" : "off"}`);
  await page.getByRole("button", { name: on ? "Confirm: turn kill switch on" : "Confirm: turn kill switch off" }).click();
  await expect.poll(() => page.getByTestId("kill-switch-state").innerText(), { timeout: 15_000 }).toContain(on ? "Kill switch ON" : "Kill switch off");
}

describe("console: Operations", () => {
  it("acknowledges and resolves an incident, recorded under the signed-in name", async () => {
    const page = await browser.context.newPage();
    await signIn(page);
    const [incident] = await incidents("open");
    await page.getByRole("button", { name: `Acknowledge ${incident!.id}` }).click();
    await page.getByText(`Incident ${incident!.id} acknowledged.`).waitFor({ timeout: 30_000 });
    await expect.poll(async () => (await incidents("acknowledged")).find((i) => i.id === incident!.id)?.updatedBy).toBe("ops-ana");

    await page.getByLabel("State").selectOption("acknowledged");
    await expect.poll(() => page.evaluate(() => location.hash)).toBe("#/operations?state=acknowledged");
    await page.getByRole("button", { name: `Resolve ${incident!.id}` }).click();
    await page.getByText(`Incident ${incident!.id} resolved.`).waitFor({ timeout: 30_000 });
    await expect.poll(async () => (await incidents("resolved")).map((i) => i.id)).toContain(incident!.id);
    // A resolved incident offers no action any more.
    await page.getByText(`No acknowledged incident.`).waitFor({ timeout: 30_000 });
    await page.getByRole("heading", { name: "Moments" }).waitFor();
    await page.getByRole("heading", { name: "Channels and deliveries" }).waitFor();
  });

  it.each(CONSOLE_VIEWPORTS)("has no serious axe violations at $width px", async (viewport) => {
    const page = await browser.context.newPage();
    await page.setViewportSize(viewport);
    await signIn(page, "?state=resolved");
    await page.getByRole("table", { name: /Incidents \(resolved\)/ }).waitFor({ timeout: 30_000 });
    await expect.poll(() => page.getByRole("status").count(), { timeout: 30_000 }).toBe(0);
    expect(await seriousViolations(page)).toEqual([]);
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= innerWidth + 1)).toBe(true);
  });
});

describe("console: the overview's kill switch", () => {
  it("turns it on (decisions become defaults) and back off, under the signed-in name", async () => {
    const page = await browser.context.newPage();
    await signIn(page, "", "ks-ops", "overview", "Overview");
    await page.getByRole("heading", { name: "Health" }).waitFor();
    // Cancel changes nothing.
    await page.getByRole("button", { name: "Turn kill switch on…" }).click();
    await page.getByRole("button", { name: "Cancel" }).click();
    expect(await page.getByTestId("kill-switch-state").innerText()).toContain("Kill switch off");
    await killSwitch(page, true);
    await expect.poll(async () => (await decide("ks-on")).reason, { timeout: 20_000, interval: 250 }).toBe("default");
    expect(await page.getByTestId("kill-switch-state").innerText()).toContain("ks-ops");
    await killSwitch(page, false);
    await expect.poll(async () => (await decide("ks-off")).reason, { timeout: 20_000, interval: 250 }).toBe("ranked");
  });
});
