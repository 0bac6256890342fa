/**
 * Browser tests: one `wrangler dev` (the real Worker, assets and local KV) for the run, with the
 * control group and exploration off so what a visitor sees is exact.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { run, startDevServer } from "../../scripts/dev-server.ts";
import { GENEROUS_BUDGETS } from "../budgets.ts";
import { buildTestClient } from "./test-client.ts";

declare module "vitest" {
  export interface ProvidedContext {
    baseUrl: string;
    /** The admin token the dev server was started with. */
    adminToken: string;
    /** nb.js with a generous decide timeout (./test-client.ts), served to the tests' browsers. */
    testClientPath: string;
    /** The key the dev server signs activation webhooks with (ACTIVATION_WEBHOOK_SECRET). */
    webhookSecret: string;
  }
}

const ADMIN_TOKEN = "e2e-admin-token";
const WEBHOOK_SECRET = "e2e-webhook-secret-0123456789abcdef";

export default async function setup(project: TestProject) {
  const chromium = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
  if (!existsSync(chromium)) {
    throw new Error(`browser tests need Debian's Chromium at ${chromium}: apt-get install chromium (or set CHROMIUM_PATH)`);
  }
  // The browser loads public/nb.js: build it from the current sources.
  await run("node", ["scripts/build-client.mjs"]);
  await run("node", ["scripts/build-console.mjs"]);
  const dir = mkdtempSync(join(tmpdir(), "nextbest-e2e-client-"));
  const testClientPath = join(dir, "nb.js");
  await buildTestClient(testClientPath);
  project.provide("testClientPath", testClientPath);
  const server = await startDevServer({
    // Generous budgets: these tests check what is shown, not latency (bench measures that).
    // Rate limits report only: every browser of the run comes from 127.0.0.1 (worker tests enforce them).
    vars: { HOLDOUT_RATE: "0", EXPLORATION_EPSILON: "0", ...GENEROUS_BUDGETS, ADMIN_TOKEN, RATE_LIMIT_MODE: "report", ACTIVATION_WEBHOOK_SECRET: WEBHOOK_SECRET,
      // Customer keys (activation, next-action) need the identity secret; a fresh clone has no .dev.vars.
      IDENTITY_SECRET: "e2e-identity-secret" },
  });
  project.provide("baseUrl", server.url);
  project.provide("adminToken", ADMIN_TOKEN);
  project.provide("webhookSecret", WEBHOOK_SECRET);
  return async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  };
}
