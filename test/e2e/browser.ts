/** Debian's Chromium driven by playwright-core, with a new empty profile per browser. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext } from "playwright-core";
import { afterEach, beforeEach, inject } from "vitest";

const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--no-first-run",
];

/**
 * Playwright's own defaults (30 s for a navigation or an action) are a speed limit, and these
 * tests check behaviour, not speed (`npm run bench` measures that): on a 2-core machine running the
 * whole suite, a page served by a `wrangler dev` that shares the cores with other servers,
 * browsers and workerd can take longer. A real hang still fails, at these limits or the test's.
 */
export const NAVIGATION_TIMEOUT_MS = 120_000;
/** Default for clicks, fills and waits that name no timeout of their own. */
export const ACTION_TIMEOUT_MS = 60_000;

/**
 * Opens a fresh browser profile (with `args` added to the flags); `close()` removes it. Its pages
 * load the test build of nb.js (a generous decide timeout, ./test-client.ts); a page that must run
 * the shipped one routes nb.js itself with `route.continue()` (a page's routes come before its
 * context's).
 */
export async function openBrowser(options: { javaScriptEnabled?: boolean; args?: string[] } = {}): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), "nextbest-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    headless: true,
    args: [...FLAGS, ...(options.args ?? [])],
    viewport: { width: 1280, height: 900 },
    javaScriptEnabled: options.javaScriptEnabled ?? true,
  });
  context.setDefaultNavigationTimeout(NAVIGATION_TIMEOUT_MS);
  context.setDefaultTimeout(ACTION_TIMEOUT_MS);
  const testClient = inject("testClientPath");
  await context.route("**/nb.js", (route) => route.fulfill({ path: testClient, contentType: "text/javascript; charset=utf-8" }));
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** A fresh browser (and profile) for every test of the calling file; `context` is the current one. */
export function browserPerTest(): { readonly context: BrowserContext } {
  let current: Awaited<ReturnType<typeof openBrowser>> | undefined;
  beforeEach(async () => {
    current = await openBrowser();
  });
  afterEach(async () => {
    await current?.close();
    current = undefined;
  });
  return {
    get context() {
      return current!.context;
    },
  };
}
