/**
 * `npm run console:screenshots`: pictures of every console page for the README (docs/console/).
 * Starts the Worker (`wrangler dev`, a throw-away state), sends some consented demo traffic
 * (decides, impressions, clicks) so the reports have something to show, signs in in Debian's
 * Chromium and saves each page of the navigation at 1280 px, and the overview at phone width.
 */
import { mkdirSync } from "node:fs";
import { chromium } from "playwright-core";
import { run, startDevServer } from "./dev-server.ts";

const TOKEN = "screenshots-admin-token";
const OUT = "docs/console";
const SLOTS = ["hero", "sidebar"];

async function traffic(base: string, visitors: number): Promise<void> {
  for (let i = 0; i < visitors; i++) {
    const visitorId = `shot-${i}`;
    const consent = { personalization: true, analytics: true };
    const res = await fetch(`${base}/v1/decide`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ visitorId, slots: SLOTS, consent, context: { signals: { pageCategory: ["shoes", "bags", "jackets"][i % 3] } } }),
    });
    const { decisions } = (await res.json()) as { decisions: { slot: string; decisionId: string; block: { id: string } }[] };
    const events = decisions.flatMap((d, j) => [
      { type: "impression", decisionId: d.decisionId, visitorId, blockId: d.block.id, slot: d.slot },
      ...((i + j) % 4 === 0 ? [{ type: "click", decisionId: d.decisionId, visitorId, blockId: d.block.id, slot: d.slot }] : []),
    ]);
    await fetch(`${base}/v1/events`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ consent, events }) });
  }
}

async function main(): Promise<void> {
  await run("node", ["scripts/build-console.mjs"]);
  const server = await startDevServer({ vars: { ADMIN_TOKEN: TOKEN, RATE_LIMIT_MODE: "report", HOLDOUT_RATE: "0.2" }, timeoutMs: 180_000 });
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
  });
  try {
    await traffic(server.url, 120);
    // The log reaches the reports through the queue: give the consumer a moment.
    await new Promise((r) => setTimeout(r, 5_000));
    mkdirSync(OUT, { recursive: true });
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${server.url}/console/`);
    await page.screenshot({ path: `${OUT}/sign-in.png` });
    await page.getByLabel("Your name").fill("ana");
    await page.getByLabel("Admin token").fill(TOKEN);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByText("Signed in as").waitFor();
    const links = await page.getByRole("navigation", { name: "Console" }).getByRole("link").evaluateAll((as) => as.map((a) => (a as unknown as { hash: string }).hash.replace(/^#\//, "")));
    for (const id of links) {
      await page.goto(`${server.url}/console/#/${id}`);
      await page.waitForLoadState("networkidle");
      // Until no "Loading…" is left (at most 30 s: a page still loading is pictured as it is).
      await page.getByRole("status").first().waitFor({ state: "detached", timeout: 30_000 }).catch(() => undefined);
      await page.screenshot({ path: `${OUT}/${id}.png`, fullPage: true });
      console.log(`${OUT}/${id}.png`);
    }
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${server.url}/console/#/overview`);
    await page.waitForLoadState("networkidle");
    await page.screenshot({ path: `${OUT}/overview-phone.png`, fullPage: true });
  } finally {
    await browser.close();
    await server.stop();
  }
}

await main();
