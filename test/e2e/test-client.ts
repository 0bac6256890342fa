/**
 * The client script for browser tests: nb.js built from the same sources with the same options
 * as scripts/build-client.mjs, except the decide timeout. The shipped 600 ms is a latency budget;
 * on a machine whose cores are busy a decide can take longer, the slot keeps its default content,
 * and a test about what the visitor sees would fail on speed. Browsers opened by ./browser.ts get
 * this build instead of /nb.js; the test about the timeout itself asks for the shipped one.
 */
import { readFile } from "node:fs/promises";
import { build, type Plugin } from "esbuild";

/** The decide timeout of the test build: far above any decide, however busy the machine. */
export const TEST_CLIENT_TIMEOUT_MS = 15_000;

const generousTimeout: Plugin = {
  name: "generous-decide-timeout",
  setup(b) {
    b.onLoad({ filter: /client[\\/]decide\.ts$/ }, async (args) => {
      const source = await readFile(args.path, "utf8");
      const contents = source.replace(/export const DEFAULT_TIMEOUT_MS = \d+;/, `export const DEFAULT_TIMEOUT_MS = ${TEST_CLIENT_TIMEOUT_MS};`);
      if (contents === source) throw new Error("client/decide.ts no longer declares DEFAULT_TIMEOUT_MS: update test/e2e/test-client.ts");
      return { contents, loader: "ts" };
    });
  },
};

/** Writes the test build to `outfile`. */
export async function buildTestClient(outfile: string): Promise<void> {
  await build({
    entryPoints: ["client/nb.ts"],
    outfile,
    bundle: true,
    minify: true,
    format: "iife",
    target: ["es2020"],
    legalComments: "none",
    logLevel: "warning",
    plugins: [generousTimeout],
  });
}
