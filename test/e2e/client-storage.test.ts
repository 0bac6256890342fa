// Storage in Chromium: a first visit and a refusal leave nothing on the device (privacy scanners
// list IndexedDB databases and cookies), and where storage is denied — a sandboxed iframe, whose
// IndexedDB and cookies throw — the slot is still decided and the page's consent applies.
import type { Page } from "playwright-core";
import { afterEach, describe, expect, inject, it } from "vitest";
import { browserPerTest, openBrowser } from "./browser.ts";
import { recordDecides } from "./client-helpers.ts";
import { consentStateIn, frameOf, servePages, SLOT_PAGE } from "./client-frames.ts";

const base = inject("baseUrl");
const browser = browserPerTest();

/** Everything the page's origin keeps: IndexedDB databases, localStorage keys and cookies. */
async function deviceStorage(page: Page) {
  return {
    databases: await page.evaluate(async () => (await indexedDB.databases()).map((db) => db.name)),
    localStorage: await page.evaluate(() => Object.keys(localStorage)),
    cookies: (await browser.context.cookies()).map((cookie) => cookie.name),
  };
}

const NOTHING = { databases: [], localStorage: [], cookies: [] };

/**
 * Opens a page and waits until its hero slot has left `pending` (decided, or its default content
 * after the timeout: what matters here is what is stored, not which block was chosen).
 */
async function open(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.locator('[data-nb-slot="hero"]:is([data-nb-state="decided"], [data-nb-state="default"])').waitFor({ timeout: 10_000 });
}

/** Clicks the demo's consent bar and waits until the answer is in force. */
async function answer(page: Page, accept: boolean): Promise<void> {
  await page.getByRole("button", { name: accept ? "Accept personalisation" : "Decline" }).click();
  await page.waitForFunction(
    async (accepted) => (await (window as unknown as { nextbest: { consentState(): Promise<{ personalization: boolean } | undefined> } }).nextbest.consentState())?.personalization === accepted,
    accept,
  );
}

/** Waits until nb-extras.js has run (the page's CMP is heard and friction watched from then on). */
async function extrasLoaded(page: Page): Promise<void> {
  await page.waitForFunction(() => performance.getEntriesByType("resource").some((entry) => entry.name.endsWith("/nb-extras.js")));
}

describe("nothing on the device before an answer", () => {
  it("a first visit creates no IndexedDB database, no localStorage and no cookie", async () => {
    const page = await browser.context.newPage();
    await open(page, `${base}/shoes.html`);
    await extrasLoaded(page);
    await open(page, `${base}/bags.html`);
    expect(await page.evaluate(async () => (await (window as unknown as { nextbest: { consentState(): Promise<unknown> } }).nextbest.consentState()) ?? null)).toBeNull();
    expect(await deviceStorage(page)).toEqual(NOTHING);
  });

  it("a refusal on the site's bar is kept in memory only: nothing stored, asked again on the next page", async () => {
    const page = await browser.context.newPage();
    const decides = recordDecides(page);
    await open(page, `${base}/shoes.html`);
    await answer(page, false);
    await expect.poll(() => decides.length).toBe(2);
    expect(decides.at(-1)!.consent).toEqual({ personalization: false, analytics: false, marketing: false });
    expect(await deviceStorage(page)).toEqual(NOTHING);
    await open(page, `${base}/bags.html`);
    await page.locator("#nb-consent").waitFor({ state: "visible" });
    expect(await deviceStorage(page)).toEqual(NOTHING);
  });

  it("a TCF answer refusing purpose 1 (device storage) is kept in memory only", async () => {
    await browser.context.addInitScript(() => {
      const consents = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [i + 1, i > 0])); // all but purpose 1
      (window as unknown as { __tcfapi: unknown }).__tcfapi = (command: string, _version: number, callback: (tcData: unknown, success: boolean) => void) => {
        if (command === "addEventListener") callback({ gdprApplies: true, eventStatus: "tcloaded", purpose: { consents, legitimateInterests: {} } }, true);
      };
    });
    const page = await browser.context.newPage();
    await open(page, `${base}/shoes.html`);
    await page.waitForFunction(async () => (await (window as unknown as { nextbest: { consentState(): Promise<unknown> } }).nextbest.consentState()) !== undefined);
    expect(await deviceStorage(page)).toEqual(NOTHING);
  });

  it("a grant stores the answer, and withdrawing it all leaves nothing again", async () => {
    const page = await browser.context.newPage();
    await open(page, `${base}/shoes.html`);
    await answer(page, true);
    // The answer (nb_consent), and with personalisation the visitor id the edge shares (nb_vid).
    await expect.poll(() => deviceStorage(page)).toEqual({ databases: ["keyval-store"], localStorage: [], cookies: ["nb_consent", "nb_vid"] });
    await page.getByRole("button", { name: "Privacy choices" }).click();
    await answer(page, false);
    await expect.poll(async () => (await deviceStorage(page)).cookies).toEqual([]);
    // The database stays (deleting it would block on other tabs), empty.
    const keys = await page.evaluate(
      () =>
        new Promise<unknown[]>((resolve) => {
          const open = indexedDB.open("keyval-store");
          open.onsuccess = () => {
            const request = open.result.transaction("keyval").objectStore("keyval").getAllKeys();
            request.onsuccess = () => resolve(request.result);
          };
        }),
    );
    expect(keys).toEqual([]);
  });
});

describe("storage denied: a sandboxed iframe", () => {
  let sandboxBrowser: Awaited<ReturnType<typeof openBrowser>> | undefined;
  afterEach(async () => {
    await sandboxBrowser?.close();
  });

  it("decides the slot (it leaves pending) and the page's consent applies from memory", async () => {
    // A sandboxed frame has an opaque origin, which Chromium's Local Network Access counts as
    // public: from it, loading anything from a loopback server needs a permission no one can
    // give. On a real site nb.js and the Worker are public too, so the check is off here.
    sandboxBrowser = await openBrowser({ args: ["--disable-features=LocalNetworkAccessChecks"] });
    const { context } = sandboxBrowser;
    await servePages(context, {
      "sandbox-top.html": `<!doctype html><title>top</title><iframe sandbox="allow-scripts" src="/__test/slot.html"></iframe>`,
      "slot.html": SLOT_PAGE,
    });
    const page = await context.newPage();
    const decides = recordDecides(page);
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));
    await page.goto(`${base}/__test/sandbox-top.html`);
    const frame = await frameOf(page, "/__test/slot.html");

    const hero = frame.locator('[data-nb-slot="hero"]');
    await expect.poll(() => hero.getAttribute("data-nb-state"), { timeout: 10_000 }).toMatch(/^(decided|default)$/);
    expect(decides[0]!.consent).toEqual({ personalization: false, analytics: false, marketing: false });

    await frame.evaluate(() => (window as unknown as { nextbest: { consent(answer: object): Promise<unknown> } }).nextbest.consent({ personalization: true, analytics: true }));
    expect(await consentStateIn(frame)).toEqual({ personalization: true, analytics: true, marketing: false });
    expect(decides.at(-1)!.consent).toEqual({ personalization: true, analytics: true, marketing: false });
    expect(decides.at(-1)!.visitorId).not.toMatch(/^anon-/);
    expect(await hero.getAttribute("data-nb-state")).toMatch(/^(decided|default)$/);
    expect(errors).toEqual([]); // not even an unhandled rejection in the console
    // The premise: storage throws in this frame (checked last: probing may log errors itself).
    expect(await frame.evaluate(() => { try { indexedDB.open("probe"); return "opened"; } catch (error) { return (error as DOMException).name; } })).toBe("SecurityError");
    expect(await frame.evaluate(() => { try { return typeof document.cookie; } catch (error) { return (error as DOMException).name; } })).toBe("SecurityError");
  });
});
