// @vitest-environment node
// The product budget (docs/API.md, performance targets): the script-tag client is at most 5 KB gzip. Built in memory with the same
// options as scripts/build-client.mjs, so this checks what nb.js would be.
import { gzipSync } from "node:zlib";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { expect, it } from "vitest";

const BUDGET_BYTES = 5 * 1024;

it("nb.js is at most 5 KB gzip", async () => {
  const result = await build({
    entryPoints: [fileURLToPath(new URL("../../client/nb.ts", import.meta.url))],
    bundle: true,
    minify: true,
    format: "iife",
    target: ["es2020"],
    legalComments: "none",
    write: false,
    logLevel: "silent",
  });
  const code = result.outputFiles[0]!.contents;
  const gzipBytes = gzipSync(code).length;
  console.log(`nb.js: ${code.length} bytes minified, ${gzipBytes} bytes gzip (budget ${BUDGET_BYTES})`);
  expect(code.length).toBeGreaterThan(1000); // the bundle really contains the client
  expect(new TextDecoder().decode(code)).not.toMatch(/\beval\(|new Function\(/);
  expect(gzipBytes).toBeLessThanOrEqual(BUDGET_BYTES);
});
