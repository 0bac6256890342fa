/**
 * Browser tests: one `wrangler dev` (the real Worker, assets and local KV) for the run, with the
 * control group and exploration off so what a visitor sees is exact.
 */
import { existsSync } from "node:fs";
import type { TestProject } from "vitest/node";
import { run, startDevServer } from "../../scripts/dev-server.ts";
import { GENEROUS_BUDGETS } from "../budgets.ts";

declare module "vitest" {
  export interface ProvidedContext {
    baseUrl: string;
  }
}

export default async function setup(project: TestProject) {
  const chromium = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
  if (!existsSync(chromium)) {
    throw new Error(`browser tests need Debian's Chromium at ${chromium}: apt-get install chromium (or set CHROMIUM_PATH)`);
  }
  // The browser loads public/nb.js: build it from the current sources.
  await run("node", ["scripts/build-client.mjs"]);
  const server = await startDevServer({
    port: 8900 + (process.pid % 90),
    // Generous budgets: these tests check what is shown, not latency (bench measures that).
    vars: { HOLDOUT_RATE: "0", EXPLORATION_EPSILON: "0", ...GENEROUS_BUDGETS },
  });
  project.provide("baseUrl", server.url);
  return () => server.stop();
}
