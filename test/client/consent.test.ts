import { beforeEach, describe, expect, it } from "vitest";
import { entries, keys, type UseStore } from "idb-keyval";
import {
  CONSENT_KEY, createNextbest, readConsent, readSession, SESSION_KEY, VISITOR_KEY,
} from "../../client/index.ts";
import { decidingFetch, freshStore, manualClock, setPage, SLOTS_HTML } from "./helpers.ts";

let store: UseStore;
let clock: ReturnType<typeof manualClock>;

beforeEach(() => {
  store = freshStore();
  clock = manualClock();
  localStorage.clear();
  sessionStorage.clear();
  document.cookie = "nb_consent=; Path=/; Max-Age=0";
  document.cookie = "nb_vid=; Path=/; Max-Age=0";
  setPage({ path: "/shoes.html", head: '<meta name="nb:category" content="shoes">', body: SLOTS_HTML });
});

/** One page load: a client with a recording fetch on the shared store. */
function loadPage() {
  const fetch = decidingFetch();
  let counter = 0;
  const client = createNextbest({
    endpoint: "https://edge.example",
    fetchImpl: fetch.fetchImpl,
    store,
    now: clock.now,
    newId: () => `id-${clock.now()}-${++counter}`,
  });
  return { client, calls: fetch.calls };
}

async function storedKeys(): Promise<string[]> {
  return ((await keys(store)) as string[]).sort();
}

async function storedValues(): Promise<Record<string, unknown>> {
  return Object.fromEntries(await entries(store));
}

describe("before any consent answer", () => {
  it("creates no database and writes nothing to IndexedDB, localStorage, sessionStorage or cookies", async () => {
    const { client, calls } = loadPage();
    await client.refresh();
    await client.refresh();
    expect(await client.consentState()).toBeUndefined();
    expect(calls).toHaveLength(2);
    expect(await indexedDB.databases()).toEqual([]); // reading the consent did not create it
    expect(await storedKeys()).toEqual([]);
    expect(localStorage.length).toBe(0);
    expect(sessionStorage.length).toBe(0);
    expect(document.cookie).toBe("");
  });

  it("decides with an ephemeral per-page id and no consent", async () => {
    const first = loadPage();
    await first.client.refresh();
    await first.client.refresh();
    const [a, b] = first.calls.map((call) => call.body);
    expect(a!.visitorId).toMatch(/^anon-/);
    expect(b!.visitorId).toBe(a!.visitorId); // stable within the page
    expect(a!.consent).toEqual({ personalization: false, analytics: false, marketing: false });

    clock.advance(1000);
    const second = loadPage();
    await second.client.refresh();
    expect(second.calls[0]!.body.visitorId).toMatch(/^anon-/);
    expect(second.calls[0]!.body.visitorId).not.toBe(a!.visitorId); // a new page, a new id
  });

  it("consentState() reports no answer", async () => {
    expect(await loadPage().client.consentState()).toBeUndefined();
  });
});

describe("consent({ personalization: true })", () => {
  it("stores the answer, a visitor id and the session, and re-runs the decide with them", async () => {
    const { client, calls } = loadPage();
    await client.refresh();
    await client.consent({ personalization: true, analytics: true });

    expect(await storedKeys()).toEqual([CONSENT_KEY, SESSION_KEY, VISITOR_KEY].sort());
    expect(await readConsent(store)).toEqual({ personalization: true, analytics: true, marketing: false, source: "site", updatedAt: clock.now() });
    expect(await client.consentState()).toEqual({ personalization: true, analytics: true, marketing: false });
    expect(await readSession(store)).toEqual({ visitCount: 1, categoryViews: { shoes: 1 }, lastActivity: clock.now(), page_view: 1 });

    expect(calls).toHaveLength(2);
    const visitorId = (await storedValues())[VISITOR_KEY];
    expect(visitorId).toEqual(expect.any(String));
    expect(visitorId).not.toMatch(/^anon-/);
    expect(calls[1]!.body.visitorId).toBe(visitorId);
    expect(calls[1]!.body.consent).toEqual({ personalization: true, analytics: true, marketing: false });
  });

  it("mirrors the answer (and nothing else) into the nb_consent cookie the edge reads", async () => {
    const { client } = loadPage();
    await client.consent({ personalization: true, analytics: false });
    expect(document.cookie).toContain("nb_consent=personalization=1&analytics=0&marketing=0");
    await client.consent({ personalization: false, analytics: false, marketing: true });
    expect(document.cookie).toContain("nb_consent=personalization=0&analytics=0&marketing=1");
    expect(document.cookie).not.toMatch(/nb_vid|visitor/);
  });

  it("is read back on the next page load, with the same visitor id", async () => {
    const first = loadPage();
    await first.client.consent({ personalization: true, analytics: false });
    clock.advance(60_000);
    const second = loadPage();
    await second.client.refresh();
    expect(second.calls[0]!.body.visitorId).toBe(first.calls[0]!.body.visitorId);
    expect(second.calls[0]!.body.consent).toEqual({ personalization: true, analytics: false, marketing: false });
    expect(await second.client.consentState()).toEqual({ personalization: true, analytics: false, marketing: false });
  });
});

describe("refusing", () => {
  it("everything deletes what was stored, the answer and the cookie included: a refusal lives in memory", async () => {
    const first = loadPage();
    await first.client.consent({ personalization: true, analytics: true });
    expect(await storedKeys()).toContain(VISITOR_KEY);
    expect(document.cookie).toContain("nb_consent=");

    const { client, calls } = loadPage();
    await client.consent({ personalization: false, analytics: false });
    expect(await storedKeys()).toEqual([]);
    expect(document.cookie).not.toContain("nb_consent");
    expect(await client.consentState()).toEqual({ personalization: false, analytics: false, marketing: false });
    expect(calls[0]!.body.visitorId).toMatch(/^anon-/);
    expect(calls[0]!.body.consent).toEqual({ personalization: false, analytics: false, marketing: false });

    await client.refresh(); // and later decides write nothing more
    expect(await storedKeys()).toEqual([]);
    expect(await loadPage().client.consentState()).toBeUndefined(); // the next page asks again
  });

  it("everything on a first visit creates nothing: no database, no cookie", async () => {
    const { client, calls } = loadPage();
    await client.refresh();
    await client.consent({});
    expect(await client.consentState()).toEqual({ personalization: false, analytics: false, marketing: false });
    expect(calls).toHaveLength(2);
    expect(await indexedDB.databases()).toEqual([]);
    expect(document.cookie).toBe("");
  });

  it("personalization stores only the answer, with analytics consent", async () => {
    const { client, calls } = loadPage();
    await client.consent({ personalization: false, analytics: true });
    expect(await storedKeys()).toEqual([CONSENT_KEY]);
    expect(calls[0]!.body.consent).toEqual({ personalization: false, analytics: true, marketing: false });
    expect(calls[0]!.body.visitorId).toMatch(/^anon-/);
  });
});

describe("one visitor id with the edge (the nb_vid cookie)", () => {
  it("writes the stored id into nb_vid with personalization consent, and deletes it when withdrawn", async () => {
    const { client, calls } = loadPage();
    await client.consent({ personalization: true, analytics: true });
    const visitorId = calls.at(-1)!.body.visitorId as string;
    expect(document.cookie).toContain(`nb_vid=${visitorId}`);
    expect((await storedValues())[VISITOR_KEY]).toBe(visitorId);
    await client.consent({ personalization: false, analytics: true });
    expect(document.cookie).not.toContain("nb_vid");
  });

  it("adopts the id the edge set (proxy mode) over a stored one, so edge and script decide for one visitor", async () => {
    const first = loadPage();
    await first.client.consent({ personalization: true, analytics: true });
    document.cookie = "nb_vid=edge-set-visitor-1; Path=/";
    const second = loadPage();
    await second.client.refresh();
    expect(second.calls.at(-1)!.body.visitorId).toBe("edge-set-visitor-1");
    expect((await storedValues())[VISITOR_KEY]).toBe("edge-set-visitor-1");
  });

  it("never reads or writes nb_vid without personalization consent", async () => {
    document.cookie = "nb_vid=edge-set-visitor-2; Path=/";
    const { client, calls } = loadPage();
    await client.consent({ personalization: false, analytics: true });
    expect(calls.at(-1)!.body.visitorId).toMatch(/^anon-/);
    expect(document.cookie).not.toContain("nb_vid");
  });
});
