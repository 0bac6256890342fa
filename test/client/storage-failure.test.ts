// Storage that fails, in every way IndexedDB can: the client then decides as a visitor without
// stored state, every slot leaves `pending` within the timeouts (storage's, then the decide's),
// and an answer given on the page applies from memory (and is gone on the next page).
import { afterEach, describe, expect, it, vi } from "vitest";
import { createStore } from "idb-keyval";
import { databaseExists, safeStore, type Consent } from "../../client/index.ts";
import { openPage, type TestPage } from "./page.ts";

const TIMEOUT_MS = 400;
const STORAGE_TIMEOUT_MS = 300;
/** The longest a slot may stay pending: storage's timeout, then the decide's. */
const PENDING_AT_MOST = STORAGE_TIMEOUT_MS + TIMEOUT_MS;
const GRANT: Consent = { personalization: true, analytics: true, marketing: false };
const NONE: Consent = { personalization: false, analytics: false, marketing: false };

const securityError = () => new DOMException("The user denied permission to access the database.", "SecurityError");
/** `databases()` of a profile where nextbest stored something. */
const listed = async () => [{ name: "keyval-store", version: 1 }];
/** An IDBOpenDBRequest that fires `event` (with its error) after a tick, or nothing ever. */
function openRequest(event?: "error" | "blocked") {
  const request: Record<string, unknown> = {};
  if (event) setImmediate(() => ((request.error = securityError()), (request[`on${event}`] as (() => void) | undefined)?.()));
  return request;
}

/** Ways IndexedDB fails, as the browser's `indexedDB` object. */
const failures: { case: string; idb: unknown }[] = [
  { case: "open() throws a SecurityError synchronously (a sandboxed iframe)", idb: { databases: listed, open: () => { throw securityError(); } } },
  { case: "databases() and open() throw synchronously", idb: { databases: () => { throw securityError(); }, open: () => { throw securityError(); } } },
  { case: "open() is rejected (onerror)", idb: { databases: listed, open: () => openRequest("error") } },
  { case: "databases() is rejected", idb: { databases: () => Promise.reject(securityError()), open: () => openRequest("error") } },
  { case: "open() is blocked", idb: { databases: listed, open: () => openRequest("blocked") } },
  { case: "open() never answers", idb: { databases: listed, open: () => openRequest() } },
  { case: "databases() never answers", idb: { databases: () => new Promise(() => {}), open: () => openRequest() } },
  { case: "databases() is missing (an older browser)", idb: { open: () => openRequest() } },
  { case: "there is no indexedDB", idb: undefined },
];

afterEach(() => {
  vi.useRealTimers();
});

/** A page whose IndexedDB is `idb`; the clock only moves when the test says so. */
async function pageOn(idb: unknown): Promise<{ page: TestPage; started: Promise<unknown> }> {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
  globalThis.indexedDB = idb as IDBFactory;
  const page = await openPage({ store: createStore("keyval-store", "keyval"), timeoutMs: TIMEOUT_MS, storageTimeoutMs: STORAGE_TIMEOUT_MS, start: false });
  return { page, started: page.client.start() };
}

const states = (page: TestPage) => [...page.doc.querySelectorAll("[data-nb-slot]")].map((slot) => slot.getAttribute("data-nb-state"));

describe.each(failures)("when $case", ({ idb }) => {
  it("every slot leaves pending within the timeout, decided for a visitor without stored state", async () => {
    const { page, started } = await pageOn(idb);
    expect(states(page)).toEqual(["pending", "pending"]);
    await vi.advanceTimersByTimeAsync(PENDING_AT_MOST);
    expect(states(page)).toEqual(["decided", "decided"]);
    await started;
    expect(page.decides).toHaveLength(1);
    expect(page.decides[0]!.body.consent).toEqual(NONE);
    expect(page.decides[0]!.body.visitorId).toMatch(/^anon-/);
  });

  it("the page's consent() applies from memory at once, and is gone on the next page", async () => {
    const { page, started } = await pageOn(idb);
    await vi.advanceTimersByTimeAsync(PENDING_AT_MOST);
    await started;
    await expect(page.client.consent({ personalization: true, analytics: true })).resolves.toHaveLength(2);
    expect(page.decides.at(-1)!.body.consent).toEqual(GRANT);
    expect(await page.client.consentState()).toEqual(GRANT);
    page.client.track("add_to_cart");
    await vi.advanceTimersByTimeAsync(0);
    await page.client.refresh(); // the session lives in memory too
    expect(page.decides.at(-1)!.body.context.signals).toMatchObject({ add_to_cart: 1 });

    const next = await pageOn(idb);
    await vi.advanceTimersByTimeAsync(PENDING_AT_MOST);
    await next.started;
    expect(await next.page.client.consentState()).toBeUndefined();
    expect(next.page.decides[0]!.body.consent).toEqual(NONE);
  });
});

describe("safeStore", () => {
  it("after one failure answers at once, without asking the store again", async () => {
    let calls = 0;
    const store = safeStore(() => (calls++, new Promise(() => {})), async () => true, 50);
    vi.useFakeTimers({ toFake: ["setTimeout"] });
    const first = store("readonly", () => 1);
    await vi.advanceTimersByTimeAsync(50);
    await expect(first).resolves.toBeUndefined();
    await expect(store("readwrite", () => 1)).resolves.toBeUndefined();
    expect(calls).toBe(1);
  });

  it("does not open the database to read while it does not exist; a write creates it", async () => {
    const modes: string[] = [];
    const store = safeStore(async (mode, callback) => (modes.push(mode), callback({} as IDBObjectStore)), async () => false, 50);
    await expect(store("readonly", () => "read")).resolves.toBeUndefined();
    await expect(store("readwrite", () => "written")).resolves.toBe("written");
    await expect(store("readonly", () => "read")).resolves.toBe("read");
    expect(modes).toEqual(["readwrite", "readonly"]);
  });
});

describe("databaseExists", () => {
  it("lists databases without opening any, and does not ask at all in an opaque origin", async () => {
    let asked = 0;
    const idb = { databases: async () => (asked++, [{ name: "keyval-store", version: 1 }]) } as unknown as IDBFactory;
    await expect(databaseExists(idb, "https://shop.example")).resolves.toBe(true);
    await expect(databaseExists({ databases: async () => [] } as unknown as IDBFactory, "https://shop.example")).resolves.toBe(false);
    await expect(databaseExists(idb, "null")).rejects.toThrow();
    expect(asked).toBe(1);
  });
});
