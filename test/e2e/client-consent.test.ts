// Consent sources in Chromium: an IAB TCF v2 CMP (a stub __tcfapi), Global Privacy Control, and
// withdrawing consent through the demo's own bar.
import type { BrowserContext, Page } from "playwright-core";
import { describe, expect, inject, it } from "vitest";
import { browserPerTest } from "./browser.ts";
import { answerConsent, recordDecides, storedKeys, storedVisitorId, visit } from "./client-helpers.ts";

const base = inject("baseUrl");
const browser = browserPerTest();

/** A CMP stub answering `addEventListener` at once, with these TCF purposes granted. */
function installCmp(context: BrowserContext, granted: number[]): Promise<void> {
  return context.addInitScript((purposes: number[]) => {
    const consents = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [i + 1, purposes.includes(i + 1)]));
    (window as unknown as { __tcfapi: unknown }).__tcfapi = (command: string, _version: number, callback: (tcData: unknown, success: boolean) => void) => {
      if (command === "addEventListener") callback({ gdprApplies: true, eventStatus: "tcloaded", purpose: { consents, legitimateInterests: {} } }, true);
    };
  }, granted);
}

/**
 * Waits until the page has applied the CMP's answer and stored it, so the next page has it: the
 * consent state is in force in memory before it is stored (and a navigation could cut the write).
 */
async function cmpAnswerStored(page: Page): Promise<void> {
  await page.waitForFunction(async () => (await (window as unknown as { nextbest: { consentState(): Promise<unknown> } }).nextbest.consentState()) !== undefined);
  await expect.poll(() => storedKeys(page), { timeout: 15_000 }).toContain("nb:consent");
}

const ALL_PURPOSES = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];

describe("consent from a TCF v2 CMP", () => {
  it("granting purposes 1, 5, 6 and 8 personalises (with measurement), without a click on the site’s bar", async () => {
    await installCmp(browser.context, [1, 5, 6, 8]);
    const page = await browser.context.newPage();
    const decides = recordDecides(page);
    await visit(page, `${base}/shoes.html`);
    await cmpAnswerStored(page);
    await visit(page, `${base}/product-trail-runner.html`);
    await visit(page, `${base}/shoes.html`);
    expect(await visit(page, `${base}/`)).toEqual({ block: "hero-shoes-trail", reason: "ranked" });
    expect(decides.at(-1)!.consent).toEqual({ personalization: true, analytics: true, marketing: false });
    expect(await storedKeys(page)).toEqual(["nb:consent", "nb:session", "nb:visitor"]);
    // The CMP repeats its answer on every page: unchanged, it costs no second decide.
    expect(decides.filter((d) => /\/product-trail-runner(\.html)?$/.test(d.context.url))).toHaveLength(1);
  });

  it("refusing keeps the default content and stores nothing but the answer", async () => {
    await installCmp(browser.context, [1, 8]); // storage and measurement only
    const page = await browser.context.newPage();
    const decides = recordDecides(page);
    await visit(page, `${base}/shoes.html`);
    await cmpAnswerStored(page);
    await visit(page, `${base}/shoes.html`);
    expect(await visit(page, `${base}/`)).toEqual({ block: "hero-default", reason: "default" });
    expect(decides.at(-1)!.consent).toEqual({ personalization: false, analytics: true, marketing: false });
    expect(await storedKeys(page)).toEqual(["nb:consent"]);
    expect(await page.locator("#nb-consent").isHidden()).toBe(true); // the site's own bar is not needed
  });
});

describe("Global Privacy Control", () => {
  it("keeps the default content even when the CMP grants every purpose", async () => {
    await browser.context.addInitScript(() => Object.defineProperty(Navigator.prototype, "globalPrivacyControl", { get: () => true }));
    await installCmp(browser.context, ALL_PURPOSES);
    const page = await browser.context.newPage();
    const decides = recordDecides(page);
    await visit(page, `${base}/shoes.html`);
    await cmpAnswerStored(page);
    for (let i = 0; i < 3; i++) await visit(page, `${base}/shoes.html`);
    expect(await visit(page, `${base}/`)).toEqual({ block: "hero-default", reason: "default" });
    // Measurement stays (GPC is about sale and sharing, not analytics); no visitor id is kept.
    expect(decides.at(-1)!.consent).toEqual({ personalization: false, analytics: true, marketing: false });
    expect(decides.at(-1)!.visitorId).toMatch(/^anon-/);
    expect(await storedKeys(page)).toEqual(["nb:consent"]);
  });

  it("gives way to the site's explicit opt-in", async () => {
    await browser.context.addInitScript(() => Object.defineProperty(Navigator.prototype, "globalPrivacyControl", { get: () => true }));
    const page = await browser.context.newPage();
    const decides = recordDecides(page);
    expect(await visit(page, `${base}/`)).toEqual({ block: "hero-default", reason: "default" });
    await answerConsent(page, true);
    expect(decides.at(-1)!.consent).toEqual({ personalization: true, analytics: true, marketing: false });
  });
});

describe("withdrawing consent", () => {
  it("erases what was stored and tells the Worker (POST /v1/consent)", async () => {
    const page = await browser.context.newPage();
    await visit(page, `${base}/shoes.html`);
    await answerConsent(page, true);
    await visit(page, `${base}/shoes.html`);
    const visitorId = await storedVisitorId(page);
    expect(visitorId).toEqual(expect.any(String));
    const revocation = page.waitForRequest((request) => request.url().endsWith("/v1/consent"));

    await page.getByRole("button", { name: "Privacy choices" }).click();
    await page.getByRole("button", { name: "Decline" }).click();
    const request = await revocation;
    expect(request.method()).toBe("POST");
    expect(request.headers()["content-type"]).toBe("text/plain");
    expect(JSON.parse(request.postData()!)).toEqual({ visitorId, consent: { personalization: false, analytics: false, marketing: false } });
    expect((await request.response())?.status()).toBe(202);
    await page.locator('[data-nb-slot="hero"][data-nb-reason="default"]').waitFor();
    expect(await storedKeys(page)).toEqual([]); // a refusal of everything is kept in memory only
    expect(await visit(page, `${base}/`)).toEqual({ block: "hero-default", reason: "default" });
    expect(await storedKeys(page)).toEqual([]);
  });
});
