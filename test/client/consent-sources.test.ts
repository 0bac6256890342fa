// Consent beyond the site's own answer: IAB TCF v2, Global Privacy Control, which answer wins,
// and what withdrawing consent erases and tells the Worker.
import { describe, expect, it } from "vitest";
import { keys, type UseStore } from "idb-keyval";
import { consentFromTcf, readConsent, withGpc, type Consent, type TcData } from "../../client/index.ts";
import { freshStore } from "./helpers.ts";
import { openPage, settle, type TestPage } from "./page.ts";

const consents = (...granted: number[]) => Object.fromEntries(Array.from({ length: 11 }, (_, i) => [i + 1, granted.includes(i + 1)]));
const tcData = (granted: number[], extra: Partial<TcData> = {}): TcData => ({ gdprApplies: true, eventStatus: "tcloaded", purpose: { consents: consents(...granted) }, ...extra });
const consent = (personalization: boolean, analytics: boolean, marketing: boolean): Consent => ({ personalization, analytics, marketing });

describe("consentFromTcf: TCF v2 purposes → nextbest purposes", () => {
  it.each([
    { granted: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], want: consent(true, true, true) },
    { granted: [1, 5, 6], want: consent(true, false, false) },
    { granted: [1, 8], want: consent(false, true, false) },
    { granted: [1, 3, 4], want: consent(false, false, true) },
    { granted: [1, 5], want: consent(false, false, false) }, // a profile without using it for content
    { granted: [1, 6], want: consent(false, false, false) },
    { granted: [1, 3], want: consent(false, false, false) },
    { granted: [2, 3, 4, 5, 6, 7, 8, 9, 10, 11], want: consent(false, false, false) }, // no device storage, no nextbest
    { granted: [], want: consent(false, false, false) },
  ])("purposes $granted → $want", ({ granted, want }) => {
    expect(consentFromTcf(tcData(granted))).toEqual(want);
    expect(consentFromTcf(tcData(granted, { eventStatus: "useractioncomplete" }))).toEqual(want);
  });

  it.each([
    { case: "the CMP is still asking (cmpuishown)", data: tcData([1, 5, 6, 8], { eventStatus: "cmpuishown" }), success: true },
    { case: "GDPR does not apply", data: tcData([1, 5, 6, 8], { gdprApplies: false }), success: true },
    { case: "the call failed", data: tcData([1, 5, 6, 8]), success: false },
    { case: "there is no TCData", data: undefined, success: true },
  ])("carries no answer when $case", ({ data, success }) => {
    expect(consentFromTcf(data, success)).toBeUndefined();
  });

  it("needs consent: legitimate interest in a purpose is not enough", () => {
    const data = { ...tcData([1]), purpose: { consents: consents(1), legitimateInterests: consents(2, 7, 8, 9, 10) } } as TcData;
    expect(consentFromTcf(data)).toEqual(consent(false, false, false));
  });
});

describe("withGpc", () => {
  const gpc = { globalPrivacyControl: true } as unknown as Navigator;
  const noGpc = {} as Navigator;
  const all = consent(true, true, true);
  it.each([
    { source: "tcf", nav: gpc, want: consent(false, true, false) },
    { source: "site", nav: gpc, want: all }, // the site's explicit opt-in
    { source: "tcf", nav: noGpc, want: all },
    { source: "tcf", nav: { globalPrivacyControl: "true" } as unknown as Navigator, want: all }, // only `true` counts
  ] as const)("source $source, GPC $nav.globalPrivacyControl → $want", ({ source, nav, want }) => {
    expect(withGpc(all, source, nav)).toEqual(want);
  });
});

/** A page whose CMP answers at once with `granted`, and lets the test answer again later. */
async function pageWithCmp(granted: number[] | undefined, options: { gpc?: boolean; store?: UseStore } = {}) {
  let listener: ((data: TcData, success: boolean) => void) | undefined;
  const page = await openPage({
    store: options.store,
    before(win) {
      if (options.gpc) Object.defineProperty(win.navigator, "globalPrivacyControl", { value: true });
      if (granted) {
        Object.assign(win, {
          __tcfapi: (command: string, version: number, callback: (data: TcData, success: boolean) => void) => {
            if (command === "addEventListener" && version === 2) {
              listener = callback;
              callback(tcData(granted), true);
            }
          },
        });
      }
    },
  });
  await settle();
  return { ...page, answer: (again: number[]) => listener!(tcData(again, { eventStatus: "useractioncomplete" }), true) };
}

const lastConsent = (page: TestPage) => page.decides.at(-1)!.body.consent;

describe("a page with a TCF v2 CMP", () => {
  it("decides with the CMP's answer and stores it", async () => {
    const page = await pageWithCmp([1, 5, 6, 8]);
    expect(lastConsent(page)).toEqual(consent(true, true, false));
    expect(page.decides.at(-1)!.body.visitorId).not.toMatch(/^anon-/);
    expect(await page.client.consentState()).toEqual(consent(true, true, false));
  });

  it("repeated on the next page, the same answer costs no second decide", async () => {
    const store = freshStore();
    await pageWithCmp([1, 5, 6, 8], { store });
    const next = await pageWithCmp([1, 5, 6, 8], { store });
    expect(next.decides).toHaveLength(1);
    expect(lastConsent(next)).toEqual(consent(true, true, false));
  });

  it("a changed answer applies at once: withdrawing erases the visitor's data", async () => {
    const store = freshStore();
    const page = await pageWithCmp([1, 5, 6, 8], { store });
    page.client.track("add_to_cart");
    await settle();
    expect(((await keys(store)) as string[]).sort()).toEqual(["nb:consent", "nb:session", "nb:visitor"]);
    const visitorId = page.decides.at(-1)!.body.visitorId;

    page.answer([1]); // the visitor withdraws everything in the CMP
    await settle();
    expect(lastConsent(page)).toEqual(consent(false, false, false));
    expect(await keys(store)).toEqual([]); // a refusal is kept in memory only
    expect(await page.client.consentState()).toEqual(consent(false, false, false));
    const revocation = page.posts.find((post) => post.url === "https://edge.example/v1/consent");
    expect(revocation?.body).toEqual({ visitorId, consent: consent(false, false, false) });
    expect(revocation?.init).toMatchObject({ method: "POST", keepalive: true, headers: { "content-type": "text/plain" } });
  });

  it("never overrides the site's own answer, stored or given on the page", async () => {
    const store = freshStore();
    const first = await openPage({ store });
    await first.client.consent({ personalization: false, analytics: true });
    const page = await pageWithCmp([1, 3, 4, 5, 6, 8], { store });
    expect(page.decides).toHaveLength(1);
    expect(lastConsent(page)).toEqual(consent(false, true, false));
    expect(await readConsent(store)).toMatchObject({ source: "site", personalization: false, analytics: true });

    // A refusal of everything is not stored, but on its page it still outranks the CMP.
    const refusing = await pageWithCmp([1, 5, 6, 8], { store: freshStore() });
    await refusing.client.consent({});
    refusing.answer([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    await settle();
    expect(lastConsent(refusing)).toEqual(consent(false, false, false));
    expect(await refusing.client.consentState()).toEqual(consent(false, false, false));
  });

  it("a CMP that gives no answer yet changes nothing", async () => {
    let calls = 0;
    const page = await openPage({
      before(win) {
        Object.assign(win, { __tcfapi: (_: string, __: number, callback: (data: TcData, success: boolean) => void) => (calls++, callback(tcData([1, 5, 6, 8], { eventStatus: "cmpuishown" }), true)) });
      },
    });
    await settle();
    expect(calls).toBe(1);
    expect(page.decides).toHaveLength(1);
    expect(await page.client.consentState()).toBeUndefined();
  });
});

describe("Global Privacy Control", () => {
  it("turns a CMP's grant into measurement only: no personalization, no marketing, no visitor id", async () => {
    const store = freshStore();
    const page = await pageWithCmp([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], { gpc: true, store });
    expect(lastConsent(page)).toEqual(consent(false, true, false));
    expect(page.decides.at(-1)!.body.visitorId).toMatch(/^anon-/);
    expect(await keys(store)).toEqual(["nb:consent"]);
  });

  it("gives way to an explicit nextbest.consent() from the site", async () => {
    const page = await pageWithCmp(undefined, { gpc: true });
    expect(lastConsent(page)).toEqual(consent(false, false, false));
    await page.client.consent({ personalization: true, analytics: true, marketing: true });
    expect(lastConsent(page)).toEqual(consent(true, true, true));
  });

  it("applies to an answer stored before GPC was switched on, unless it is the site's", async () => {
    const store = freshStore();
    await pageWithCmp([1, 5, 6, 8], { store }); // stored by the CMP, without GPC
    const page = await openPage({ store, before: (win) => Object.defineProperty(win.navigator, "globalPrivacyControl", { value: true }) });
    expect(lastConsent(page)).toEqual(consent(false, true, false));
  });
});

describe("withdrawing consent through nextbest.consent()", () => {
  it.each([
    { answer: { personalization: false, analytics: false }, keys: [], told: true }, // a refusal is kept in memory only
    { answer: { personalization: false, analytics: true }, keys: ["nb:consent"], told: true },
    { answer: { personalization: true, analytics: false }, keys: ["nb:consent", "nb:session", "nb:visitor"], told: true },
    { answer: { personalization: true, analytics: true }, keys: ["nb:consent", "nb:session", "nb:visitor"], told: false },
  ])("after a full grant, $answer keeps $keys; the Worker is told: $told", async ({ answer, keys: kept, told }) => {
    const store = freshStore();
    const page = await openPage({ store });
    await page.client.consent({ personalization: true, analytics: true });
    const visitorId = page.decides.at(-1)!.body.visitorId;
    await page.client.consent(answer);
    expect(((await keys(store)) as string[]).sort()).toEqual(kept);
    const revocations = page.posts.filter((post) => post.url.endsWith("/v1/consent"));
    expect(revocations.map((post) => post.body)).toEqual(told ? [{ visitorId, consent: { ...answer, marketing: false } }] : []);
  });

  it.each([
    { case: "a Worker without the route (404)", respond: () => new Response("not found", { status: 404 }) },
    { case: "a network error", respond: () => Promise.reject(new TypeError("Failed to fetch")) },
    { case: "a Worker that never answers", respond: () => new Promise<Response>(() => {}) },
  ])("is fire and forget: $case changes nothing for the page", async ({ respond }) => {
    const store = freshStore();
    const page = await openPage({ store, respondOther: respond });
    await page.client.consent({ personalization: true, analytics: true });
    await expect(page.client.consent({ personalization: false, analytics: false })).resolves.toHaveLength(2);
    expect(page.posts.filter((post) => post.url.endsWith("/v1/consent"))).toHaveLength(1);
    expect(lastConsent(page)).toEqual(consent(false, false, false));
    expect(await keys(store)).toEqual([]);
  });

  it("is not reported when nothing was stored (no visitor id to erase)", async () => {
    const page = await openPage();
    await page.client.consent({ personalization: false, analytics: false });
    expect(page.posts).toEqual([]);
  });

  it("drops the events waiting for the beacon and those queued offline", async () => {
    const store = freshStore();
    // The Worker is unavailable, so queued events stay queued when the browser is back online.
    const page = await openPage({ store, respondOther: () => new Response(null, { status: 503 }) });
    await page.client.consent({ personalization: true, analytics: true });
    page.setOnline(false);
    page.client.track("search", { term: "duffel" }); // offline: stored at once
    await settle();
    page.setOnline(true);
    await settle();
    expect(await keys(store)).toContain("nb:queue");
    page.client.track("add_to_cart"); // online: waits for the page to be hidden
    await settle();

    await page.client.consent({ personalization: true, analytics: false });
    expect(await keys(store)).not.toContain("nb:queue");
    page.hide();
    await settle();
    expect(page.beacons).toEqual([]);
  });
});
