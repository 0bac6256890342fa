/** Driving the console (/console/) in Chromium: sign in, check accessibility with axe-core. */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { Page } from "playwright-core";
import { expect, inject } from "vitest";

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

/** The widths every console page is checked at: a laptop and a phone. */
export const CONSOLE_VIEWPORTS = [
  { width: 1280, height: 900 },
  { width: 390, height: 844 },
];

/** Opens the console and signs in as `name` with the e2e server's admin token; resolves on the page `id`. */
export async function signIn(page: Page, name = "ana", id = "overview"): Promise<void> {
  await page.goto(`${inject("baseUrl")}/console/#/${id}`);
  await page.getByLabel("Your name").fill(name);
  await page.getByLabel("Admin token").fill(inject("adminToken"));
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByText(`Signed in as`).waitFor();
}

/** Goes to a console page (signed in) and waits for its heading. */
export async function openPage(page: Page, id: string, title: string, query = ""): Promise<void> {
  await page.goto(`${inject("baseUrl")}/console/#/${id}${query ? `?${query}` : ""}`);
  await page.getByRole("heading", { level: 1, name: title }).waitFor();
  await expect.poll(() => page.getByRole("status").count(), { timeout: 30_000 }).toBe(0);
}

/** axe-core's serious and critical violations on the page as it is (none expected). */
export async function seriousViolations(page: Page): Promise<string[]> {
  await page.addScriptTag({ content: AXE_SOURCE });
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(context: Document, options: object): Promise<{ violations: { id: string; impact: string; help: string; nodes: { target: string[] }[] }[] }> } }).axe;
    const result = await axe.run(document, { resultTypes: ["violations"] });
    return result.violations.filter((v) => v.impact === "serious" || v.impact === "critical").map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`);
  });
  return violations;
}
