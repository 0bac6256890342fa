// @vitest-environment node
// The product budget (docs/API.md, performance targets): the script-tag client is at most 5 KB
// gzip. Built in memory with the options of scripts/build-client.mjs, so this checks what nb.js
// would be. Its optional parts load afterwards as nb-extras.js (client/extras.ts), which is not
// part of the budget but is built and checked the same way.
import { gzipSync } from "node:zlib";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { expect, it } from "vitest";
import { BUNDLE_OPTIONS } from "../../scripts/build-client.mjs";

const BUDGET_BYTES = 5 * 1024;

async function bundle(entry: string): Promise<{ code: Uint8Array; gzipBytes: number }> {
  const result = await build({
    ...BUNDLE_OPTIONS,
    entryPoints: [fileURLToPath(new URL(`../../client/${entry}`, import.meta.url))],
    write: false,
    logLevel: "silent",
  });
  const code = result.outputFiles[0]!.contents;
  return { code, gzipBytes: gzipSync(code).length };
}

it("nb.js is at most 5 KB gzip", async () => {
  const { code, gzipBytes } = await bundle("nb.ts");
  console.log(`nb.js: ${code.length} bytes minified, ${gzipBytes} bytes gzip (budget ${BUDGET_BYTES})`);
  expect(code.length).toBeGreaterThan(1000); // the bundle really contains the client
  expect(new TextDecoder().decode(code)).not.toMatch(/\beval\(|new Function\(/);
  expect(gzipBytes).toBeLessThanOrEqual(BUDGET_BYTES);
});

it("nb-extras.js holds the optional parts, which nb.js does not", async () => {
  const [main, extras] = await Promise.all([bundle("nb.ts"), bundle("nb-extras.ts")]);
  console.log(`nb-extras.js: ${extras.code.length} bytes minified, ${extras.gzipBytes} bytes gzip`);
  const text = (code: Uint8Array) => new TextDecoder().decode(code);
  // Strings only the friction heuristics, the TCF bridge, navigation and the block HTML policy
  // of the inert parser contain.
  for (const marker of ["exit_intent", "__tcfapiLocator", "pushState", "figcaption"]) {
    expect(text(extras.code)).toContain(marker);
    expect(text(main.code)).not.toContain(marker);
  }
  expect(text(extras.code)).not.toMatch(/\beval\(|new Function\(/);
});
