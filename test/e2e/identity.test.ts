// One first-party visitor id for the edge and the script (docs/API.md, "Visitor id"): the Worker
// sets nb_vid in proxy mode, the script adopts it (or writes its own into it), so events the script
// sends for slots the edge filled join their decisions in the export.
import type { Page } from "playwright-core";
import { describe, expect, inject, it } from "vitest";
import { browserPerTest } from "./browser.ts";
import { allEvents, answerConsent, hidePage, recordEvents, storedOutcomes, storedVisitorId, visit } from "./client-helpers.ts";

const base = inject("baseUrl");
const adminToken = inject("adminToken");
const browser = browserPerTest();

async function visitorCookie(page: Page): Promise<string | undefined> {
  return (await page.context().cookies(base)).find((c) => c.name === "nb_vid")?.value;
}

/** The decision ids of the slots the edge filled on the current page. */
function edgeDecisions(page: Page): Promise<Record<string, string>> {
  return page.evaluate(() =>
    Object.fromEntries([...document.querySelectorAll('[data-nb-source="edge"][data-nb-decision]')].map((s) => [s.getAttribute("data-nb-slot"), s.getAttribute("data-nb-decision")])),
  );
}

describe("one visitor id for the edge and the script, in Chromium", () => {
  it("the script adopts the id the edge set, and events on edge-filled slots join their decisions", async () => {
    const page = await browser.context.newPage();
    // A CMP wrote the consent cookie: the edge fills the slots and sets nb_vid.
    await browser.context.addCookies([{ name: "nb_consent", value: "personalization%3D1%26analytics%3D1", url: base }]);
    await page.goto(`${base}/edge/jackets`);
    const edgeId = await visitorCookie(page);
    expect(edgeId).toMatch(/^[0-9a-f-]{36}$/);
    // The visitor answers on the page: the script keeps the edge's id rather than minting one.
    await answerConsent(page, true);
    expect(await storedVisitorId(page)).toBe(edgeId);
    expect(await visitorCookie(page)).toBe(edgeId);

    const exchanges = recordEvents(page);
    await page.goto(`${base}/edge/`);
    const ids = await edgeDecisions(page);
    expect(ids.hero).toEqual(expect.any(String));
    // An impression is due after a second of visibility (once nb-extras.js has loaded, which on a
    // busy machine takes a while) and leaves when the page is hidden: hide until it has left.
    await expect
      .poll(async () => {
        await hidePage(page);
        return allEvents(exchanges).filter((e) => e.decisionId === ids.hero).length;
      }, { timeout: 30_000, intervals: [1_000] })
      .toBe(1);
    expect(allEvents(exchanges).every((e) => e.visitorId === edgeId)).toBe(true);
    // The export joins events to decisions by decision id and visitor key: joined means one id.
    await storedOutcomes(base, adminToken, { [ids.hero!]: ["impression"] });
  });

  it("the edge uses the id the script made, and withdrawing consent deletes it", async () => {
    const page = await browser.context.newPage();
    await visit(page, `${base}/shoes.html`);
    expect(await visitorCookie(page)).toBeUndefined(); // no id before consent
    await answerConsent(page, true);
    const scriptId = await storedVisitorId(page);
    expect(await visitorCookie(page)).toBe(scriptId);
    const decides: string[] = [];
    page.on("response", (r) => {
      if (new URL(r.url()).pathname === "/edge/") decides.push(r.headers()["set-cookie"] ?? "");
    });
    await page.goto(`${base}/edge/`);
    expect(await page.locator('[data-nb-slot="hero"]').getAttribute("data-nb-source")).toBe("edge");
    expect(decides).toEqual([""]); // the edge kept the script's id: no new cookie
    expect(await visitorCookie(page)).toBe(scriptId);
    await page.evaluate(() => (window as unknown as { nextbest: { consent(a: object): Promise<unknown> } }).nextbest.consent({ personalization: false, analytics: false }));
    expect(await visitorCookie(page)).toBeUndefined();
  });
});
