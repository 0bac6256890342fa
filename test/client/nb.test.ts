import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { keys } from "idb-keyval";
import { DECISIONS_EVENT, EXTRAS_EVENT, parseBlock, resolveEndpoint, type Decision, type Extras } from "../../client/index.ts";
import { acceptDisabledResourceLoads, decidingFetch, freshStore, setPage, SLOTS_HTML } from "./helpers.ts";

// The script-tag entry runs on import, so each test imports a fresh copy of the module.
let fetchMock: ReturnType<typeof decidingFetch>;

// The pages below carry <script src=".../nb.js">, which happy-dom must not try to load.
acceptDisabledResourceLoads();

// Every import starts a client on this one window, and a page cannot unload it. So that the
// clients of earlier tests stay deaf to later pages, they observe nothing and their history
// hooks are removed after each test.
const { pushState, replaceState } = history;
class DeafObserver {
  observe() {}
  disconnect() {}
}

beforeEach(() => {
  vi.resetModules();
  freshStore();
  fetchMock = decidingFetch();
  vi.stubGlobal("fetch", fetchMock.fetchImpl);
  Object.assign(window, { MutationObserver: DeafObserver });
  delete window.nextbest;
});

afterEach(() => {
  vi.unstubAllGlobals();
  Object.assign(history, { pushState, replaceState });
  Object.defineProperty(document, "readyState", { value: "complete", configurable: true });
  Object.defineProperty(document, "currentScript", { value: null, configurable: true });
});

/** What the browser sets while nb.js first runs (happy-dom does not, for a dynamic import). */
function runningScript(): void {
  Object.defineProperty(document, "currentScript", { value: document.querySelector("script"), configurable: true });
}

/**
 * Does what nb-extras.js does once loaded (happy-dom loads no script): hands over the inert block
 * parser nb.js renders with. Only the parser: the optional parts would outlive the test.
 */
async function importNb(): Promise<void> {
  await import("../../client/nb.ts");
  document.dispatchEvent(new CustomEvent(EXTRAS_EVENT, { detail: { parseBlock } as unknown as Extras }));
}

function nextDecisions(): Promise<Decision[]> {
  return new Promise((resolve) =>
    document.addEventListener(DECISIONS_EVENT, (event) => resolve((event as CustomEvent<Decision[]>).detail), { once: true }),
  );
}

describe("nb.js", () => {
  it("exposes window.nextbest, announces itself and decides all slots once, at its script's origin", async () => {
    setPage({ path: "/shoes.html", head: '<script src="https://edge.example/nb.js" async></script>', body: SLOTS_HTML });
    const ready = new Promise((resolve) => document.addEventListener("nextbest:ready", resolve, { once: true }));
    const decided = nextDecisions();
    runningScript();
    await importNb();

    await ready;
    expect(Object.keys(window.nextbest!).sort()).toEqual(["consent", "consentState", "refresh", "signals", "start", "track"]);
    expect((await decided).map((d) => d.slot)).toEqual(["hero", "sidebar"]);
    expect(fetchMock.calls).toHaveLength(1);
    expect(fetchMock.calls[0]!.url).toBe("https://edge.example/v1/decide");
    expect(fetchMock.calls[0]!.body.slots).toEqual(["hero", "sidebar"]);
    expect(document.querySelector('[data-nb-slot="hero"]')!.getAttribute("data-nb-block")).toBe("hero-block");
  });

  it("uses data-endpoint when the script tag has one", async () => {
    setPage({ head: '<script src="/nb.js" data-endpoint="https://api.example/nb/" async></script>', body: SLOTS_HTML });
    const decided = nextDecisions();
    runningScript();
    await importNb();
    await decided;
    expect(fetchMock.calls[0]!.url).toBe("https://api.example/nb/v1/decide");
  });

  it("waits for DOMContentLoaded while the document is still loading", async () => {
    setPage({ head: '<script src="/nb.js" async></script>', body: SLOTS_HTML });
    Object.defineProperty(document, "readyState", { value: "loading", configurable: true });
    await importNb();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(fetchMock.calls).toHaveLength(0);

    const decided = nextDecisions();
    document.dispatchEvent(new Event("DOMContentLoaded"));
    await decided;
    expect(fetchMock.calls).toHaveLength(1);
    expect(fetchMock.calls[0]!.url).toBe("http://localhost:3000/v1/decide");
  });

  it("consent() through window.nextbest stores the answer and decides again", async () => {
    setPage({ head: '<script src="/nb.js" async></script>', body: SLOTS_HTML });
    const decided = nextDecisions();
    await importNb();
    await decided;
    expect(await window.nextbest!.consentState()).toBeUndefined();
    await window.nextbest!.consent({ personalization: true, analytics: true });
    expect(fetchMock.calls).toHaveLength(2);
    expect(fetchMock.calls[1]!.body.consent).toEqual({ personalization: true, analytics: true, marketing: false });
    expect(await window.nextbest!.consentState()).toEqual({ personalization: true, analytics: true, marketing: false });
    // nb.js uses idb-keyval's default database and store names.
    const { createStore } = await import("idb-keyval");
    expect(((await keys(createStore("keyval-store", "keyval"))) as string[]).sort()).toEqual(["nb:consent", "nb:session", "nb:visitor"]);
  });
});

describe("resolveEndpoint", () => {
  function script(attributes: string): HTMLScriptElement {
    setPage({ head: `<script ${attributes}></script>` });
    return document.querySelector("script")!;
  }

  it("is the origin of the script's src", () => {
    expect(resolveEndpoint(script('src="https://edge.example:8443/static/nb.js?v=3"'), "https://shop.example/")).toBe("https://edge.example:8443");
  });

  it("is the page's origin for a relative src or no script", () => {
    expect(resolveEndpoint(script('src="/nb.js"'), "http://localhost:3000/shoes.html")).toBe("http://localhost:3000");
    expect(resolveEndpoint(null, "https://shop.example/a/b")).toBe("https://shop.example");
  });

  it("prefers data-endpoint, without trailing slashes", () => {
    expect(resolveEndpoint(script('src="https://cdn.example/nb.js" data-endpoint="https://edge.example/"'))).toBe("https://edge.example");
  });
});
