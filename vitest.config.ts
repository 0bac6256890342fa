import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: [
      {
        // Worker tests run inside workerd with the real bindings (KV, assets), the real ONNX
        // runtime and the real default model. Exploration is off so served blocks are exact;
        // exploration itself is tested on the decision core with injected ids.
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: { bindings: { EXPLORATION_EPSILON: "0" } },
          }),
        ],
        test: { name: "worker", include: ["test/worker/**/*.test.ts"], testTimeout: 30_000 },
      },
      {
        // Real Chromium (Debian's) against `wrangler dev`; see test/e2e/global-setup.ts.
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          environment: "node",
          globalSetup: ["test/e2e/global-setup.ts"],
          testTimeout: 60_000,
          hookTimeout: 90_000,
          fileParallelism: false,
        },
      },
      {
        test: { name: "models", include: ["test/models/**/*.test.ts"], environment: "node" },
      },
      {
        test: {
          name: "client",
          include: ["test/client/**/*.test.ts"],
          environment: "happy-dom",
        },
      },
    ],
  },
});
