/**
 * Browser tests: one `wrangler dev` (the real Worker, assets and local KV) for the run, with the
 * control group and exploration off so what a visitor sees is exact.
 */
import type { TestProject } from "vitest/node";
import { startDevServer } from "../../scripts/dev-server.ts";

declare module "vitest" {
  export interface ProvidedContext {
    baseUrl: string;
  }
}

export default async function setup(project: TestProject) {
  const server = await startDevServer({
    port: 8900 + (process.pid % 90),
    vars: { HOLDOUT_RATE: "0", EXPLORATION_EPSILON: "0" },
  });
  project.provide("baseUrl", server.url);
  return () => server.stop();
}
