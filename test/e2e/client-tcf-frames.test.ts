// A CMP in the parent frame: the IAB's own reference code (@iabtechlabtcf/stub, which adds the
// __tcfapiLocator frame and answers postMessage calls, and @iabtechlabtcf/cmpapi, the CMP API)
// runs in the top page with a TC string granting every purpose; nb.js runs in an iframe without
// __tcfapi of its own, on the same origin and on another one, and hears the answer through the
// TCF postMessage protocol.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { GVL, TCModel, TCString } from "@iabtechlabtcf/core";
import { build } from "esbuild";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { browserPerTest } from "./browser.ts";
import { recordDecides } from "./client-helpers.ts";
import { consentStateIn, frameOf, otherOrigin, servePages, SLOT_PAGE } from "./client-frames.ts";

const base = inject("baseUrl");
const browser = browserPerTest();
const require = createRequire(import.meta.url);

/** A TC string granting consent to all eleven TCF purposes (a minimal GVL of those purposes). */
function tcStringGrantingAll(): string {
  const purposes = Object.fromEntries(
    Array.from({ length: 11 }, (_, i) => [i + 1, { id: i + 1, name: `Purpose ${i + 1}`, description: "", illustrations: [] }]),
  );
  const gvl = new GVL({
    gvlSpecificationVersion: 3, vendorListVersion: 1, tcfPolicyVersion: 5, lastUpdated: "2026-01-01T00:00:00Z",
    purposes, specialPurposes: {}, features: {}, specialFeatures: {}, stacks: {}, dataCategories: {}, vendors: {},
  } as ConstructorParameters<typeof GVL>[0]);
  const model = new TCModel(gvl);
  model.cmpId = 2;
  model.cmpVersion = 1;
  model.isServiceSpecific = true;
  model.purposeConsents.set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  return TCString.encode(model);
}

let topPage: (frameSrc: string) => string;

beforeAll(async () => {
  const stub = readFileSync(require.resolve("@iabtechlabtcf/stub"), "utf8");
  const cmp = await build({
    stdin: {
      contents: `import { CmpApi } from "@iabtechlabtcf/cmpapi";
        new CmpApi(2, 1, true).update(${JSON.stringify(tcStringGrantingAll())}, false);`,
      resolveDir: process.cwd(),
    },
    bundle: true,
    format: "iife",
    target: ["es2020"],
    write: false,
    logLevel: "silent",
  });
  const cmpCode = cmp.outputFiles[0]!.text;
  // The stub first, in the body (it adds the locator frame there), then the CMP, then the frame.
  topPage = (frameSrc) => `<!doctype html><html><head><meta charset="utf-8"><title>publisher</title></head><body>
<script>${stub}</script><script>${cmpCode}</script>
<iframe src="${frameSrc}" width="600" height="300"></iframe></body></html>`;
});

const ALL = { personalization: true, analytics: true, marketing: true };

describe.each([
  { case: "a same-origin iframe", frameOrigin: () => base },
  { case: "a cross-origin iframe", frameOrigin: () => otherOrigin(base) },
])("nb.js in $case under a page with the IAB CMP", ({ frameOrigin }) => {
  it("hears the parent's answer through __tcfapiLocator and decides with it", async () => {
    const frameUrl = `${frameOrigin()}/__test/slot.html`;
    await servePages(browser.context, { "top.html": topPage(frameUrl), "slot.html": SLOT_PAGE });
    const page = await browser.context.newPage();
    const decides = recordDecides(page);
    await page.goto(`${base}/__test/top.html`);
    // The premise: the CMP answers in the top page, and the frame has no __tcfapi of its own.
    expect(await page.evaluate(() => new Promise((resolve) => (window as unknown as { __tcfapi: Function }).__tcfapi("ping", 2, resolve)))).toMatchObject({ cmpLoaded: true, gdprApplies: true });
    const frame = await frameOf(page, "/__test/slot.html");
    expect(new URL(frame.url()).origin).toBe(frameOrigin());
    expect(await frame.evaluate(() => typeof (window as unknown as { __tcfapi?: unknown }).__tcfapi)).toBe("undefined");

    await expect.poll(() => consentStateIn(frame), { timeout: 15_000 }).toEqual(ALL);
    await expect.poll(() => decides.at(-1)?.consent, { timeout: 15_000 }).toEqual(ALL);
    expect(decides.at(-1)!.visitorId).not.toMatch(/^anon-/);
    expect(await frame.locator('[data-nb-slot="hero"]').getAttribute("data-nb-state")).toMatch(/^(pending|decided|default)$/);
    await expect.poll(() => frame.locator('[data-nb-slot="hero"]').getAttribute("data-nb-state")).toMatch(/^(decided|default)$/);
  });
});
