/**
 * The client script for browser tests: nb.js built from the same sources with the same options
 * as scripts/build-client.mjs, except the decide timeout. The shipped 600 ms is a latency budget;
 * on a machine whose cores are busy a decide can take longer, the slot keeps its default content,
 * and a test about what the visitor sees would fail on speed. Browsers opened by ./browser.ts get
 * this build instead of /nb.js; the test about the timeout itself asks for the shipped one.
 */
import { readFile } from "node:fs/promises";
import { build, type Plugin } from "esbuild";
import { BUNDLE_OPTIONS } from "../../scripts/build-client.mjs";

/** The decide timeout of the test build: far above any decide, however busy the machine. */
export const TEST_CLIENT_TIMEOUT_MS = 15_000;
/**
 * The storage timeout of the test build. The shipped 1 s decides when IndexedDB counts as
 * unavailable; a busy machine can take longer for a working database, and the visitor's answer
 * would then live in memory only (a test about what is stored would fail on speed).
 */
export const TEST_STORAGE_TIMEOUT_MS = 15_000;

/** Replaces `export const NAME = <digits>;` in a source file, or fails if it is gone. */
function withConstant(source: string, name: string, value: number, file: string): string {
  const contents = source.replace(new RegExp(`export const ${name} = \\d+;`), `export const ${name} = ${value};`);
  if (contents === source) throw new Error(`${file} no longer declares ${name}: update test/e2e/test-client.ts`);
  return contents;
}

const generousTimeout: Plugin = {
  name: "generous-decide-timeout",
  setup(b) {
    b.onLoad({ filter: /client[\\/]decide\.ts$/ }, async (args) => ({
      contents: withConstant(await readFile(args.path, "utf8"), "DEFAULT_TIMEOUT_MS", TEST_CLIENT_TIMEOUT_MS, "client/decide.ts"),
      loader: "ts",
    }));
    b.onLoad({ filter: /client[\\/]client\.ts$/ }, async (args) => ({
      contents: withConstant(await readFile(args.path, "utf8"), "STORAGE_TIMEOUT_MS", TEST_STORAGE_TIMEOUT_MS, "client/client.ts"),
      loader: "ts",
    }));
  },
};

/** Writes the test build to `outfile`. */
export async function buildTestClient(outfile: string): Promise<void> {
  await build({ ...BUNDLE_OPTIONS, entryPoints: ["client/nb.ts"], outfile, plugins: [generousTimeout] });
}
