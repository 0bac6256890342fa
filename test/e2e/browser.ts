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
