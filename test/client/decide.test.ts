import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  createNextbest, decide, DEFAULT_TIMEOUT_MS, findSlotNames, parseDecisions, type DecideOptions, type Signals,
} from "../../client/index.ts";
import { decidingFetch, decision, freshStore, recordingFetch, setPage, SLOTS_HTML } from "./helpers.ts";

const SIGNALS: Signals = { pageType: "home", categoryViews: {}, scrollDepth: 0, dwellSeconds: 0, visitCount: 1, device: "desktop" };
const OPTIONS: DecideOptions = {
  endpoint: "https://edge.example",
  visitorId: "v-1",
  consent: { personalization: true, analytics: false, marketing: false },
  url: "https://shop.example/",
  signals: SIGNALS,
};

beforeEach(() => setPage({ path: "/shoes.html?utm_source=mail", body: SLOTS_HTML }));
afterEach(() => vi.useRealTimers());

describe("the decide request", () => {
  it("is one POST to {endpoint}/v1/decide for all slots, with exactly the contract's body", async () => {
    document.body.insertAdjacentHTML("beforeend", '<section data-nb-slot="hero">second hero element</section>');
    const { fetchImpl, calls } = decidingFetch();
    const client = createNextbest({ endpoint: "https://edge.example", fetchImpl, store: freshStore(), newId: () => "page" });
    await client.refresh();

    expect(calls).toHaveLength(1);
    const [call] = calls;
    expect(call!.url).toBe("https://edge.example/v1/decide");
    expect(call!.init.method).toBe("POST");
    expect(new Headers(call!.init.headers).get("content-type")).toBe("application/json");
    expect(Object.keys(call!.body).sort()).toEqual(["consent", "context", "slots", "visitorId"]);
    expect(call!.body).toEqual({
      visitorId: "anon-page",
      slots: ["hero", "sidebar"],
      consent: { personalization: false, analytics: false, marketing: false },
      context: { url: "http://localhost:3000/shoes.html?utm_source=mail", signals: expect.any(Object) },
    });
    expect(Object.keys(call!.body.context)).toEqual(["url", "signals"]);
  });

  it.each([
    [undefined, "http://localhost:3000/shoes.html?utm_source=mail&utm_medium=x"],
    [["page"], "http://localhost:3000/shoes.html?utm_source=mail&page=2&utm_medium=x"],
  ])("sends the page URL without its fragment and with only utm_* and %j parameters", async (urlParams, want) => {
    setPage({ path: "/shoes.html?utm_source=mail&email=alice%40example.com&page=2&utm_medium=x#access_token=secret", body: SLOTS_HTML });
    const { fetchImpl, calls } = decidingFetch();
    await createNextbest({ endpoint: "https://edge.example", fetchImpl, store: freshStore(), newId: () => "page", ...(urlParams ? { urlParams } : {}) }).refresh();
    expect(calls[0]!.body.context.url).toBe(want);
  });

  it("names each slot once, in document order, and at most 10", () => {
    setPage({ body: Array.from({ length: 14 }, (_, i) => `<div data-nb-slot="s${i % 12}"></div>`).join("") });
    expect(findSlotNames()).toEqual(["s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9"]);
  });

  it("skips slots the edge already filled in the HTML (proxy mode)", () => {
    setPage({ body: '<div data-nb-slot="hero" data-nb-source="edge"></div><div data-nb-slot="sidebar"></div>' });
    expect(findSlotNames()).toEqual(["sidebar"]);
  });

  it("skips slot names the Worker would refuse, so the other slots are still decided", () => {
    setPage({
      body: ["Hero", " ", "a b", "-x", "x".repeat(65), "hero", "side_bar-2", "x".repeat(64)]
        .map((name) => `<div data-nb-slot="${name}"></div>`).join(""),
    });
    expect(findSlotNames()).toEqual(["hero", "side_bar-2", "x".repeat(64)]);
  });

  it("cuts a very long page URL to the Worker's 2048 characters", async () => {
    const { fetchImpl, calls } = decidingFetch();
    await decide(["hero"], { ...OPTIONS, url: `https://shop.example/?utm_term=${"a".repeat(3000)}` }, fetchImpl);
    expect(calls[0]!.body.context.url).toHaveLength(2048);
  });

  it("is not sent when the page has no slots", async () => {
    const { fetchImpl, calls } = decidingFetch();
    expect(await decide([], OPTIONS, fetchImpl)).toEqual([]);
    expect(calls).toHaveLength(0);
  });

  it("returns the decisions of a 200 answer", async () => {
    const answer = { decisions: [decision("hero", "b1"), decision("sidebar", "b2")] };
    const { fetchImpl } = recordingFetch(() => Response.json(answer));
    expect(await decide(["hero", "sidebar"], OPTIONS, fetchImpl)).toEqual(answer.decisions);
  });
});

/** Each slot's content, to compare before and after a failed decide. */
function slotContents(): string[] {
  return [...document.querySelectorAll("[data-nb-slot]")].map((slot) => slot.innerHTML);
}

/** Each slot's `data-nb-state`. */
function slotStates(): (string | null)[] {
  return [...document.querySelectorAll("[data-nb-slot]")].map((slot) => slot.getAttribute("data-nb-state"));
}

describe("failures leave the default content", () => {
  const cases: [string, () => Response | Promise<Response>][] = [
    ["a network error", () => Promise.reject(new TypeError("Failed to fetch"))],
    ["a 500 answer", () => Response.json({ decisions: [decision("hero", "b1")] }, { status: 500 })],
    ["a 404 answer", () => new Response("not found", { status: 404 })],
    ["malformed JSON", () => new Response("{ decisions: [", { status: 200, headers: { "content-type": "application/json" } })],
    ["JSON of the wrong shape", () => Response.json({ decision: "hero" })],
    ["JSON null", () => Response.json(null)],
  ];

  it.each(cases)("on %s", async (_, respond) => {
    const { fetchImpl, calls } = recordingFetch(respond);
    const client = createNextbest({ endpoint: "https://edge.example", fetchImpl, store: freshStore() });
    const before = slotContents();
    await expect(client.refresh()).resolves.toEqual([]);
    expect(calls).toHaveLength(1);
    expect(slotContents()).toEqual(before);
    expect(slotStates()).toEqual(["default", "default"]); // no longer waiting: shown as they are
    expect(document.querySelector("[data-nb-block]")).toBeNull();
  });

  it("after the timeout, aborting the request", async () => {
    let signal: AbortSignal | undefined;
    const { fetchImpl } = recordingFetch((_, init) => {
      signal = init.signal ?? undefined;
      return new Promise<Response>((_resolve, reject) => {
        signal!.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError")));
      });
    });
    const client = createNextbest({ endpoint: "https://edge.example", fetchImpl, store: freshStore(), timeoutMs: 30 });
    const before = slotContents();
    await expect(client.refresh()).resolves.toEqual([]);
    expect(signal?.aborted).toBe(true);
    expect(slotContents()).toEqual(before);
    expect(slotStates()).toEqual(["default", "default"]);
  });

  it("after 600 ms by default, even if fetch ignores the abort signal", async () => {
    vi.useFakeTimers();
    const late = Response.json({ decisions: [decision("hero", "b1")] });
    const { fetchImpl } = recordingFetch(() => new Promise<Response>((resolve) => setTimeout(() => resolve(late), 5_000)));
    let settled: unknown;
    void decide(["hero"], OPTIONS, fetchImpl).then((result) => (settled = result));
    await vi.advanceTimersByTimeAsync(DEFAULT_TIMEOUT_MS - 1);
    expect(settled).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(settled).toEqual([]);
    expect(DEFAULT_TIMEOUT_MS).toBe(600);
  });

  it("for each decision that lacks a field rendering needs, keeping the valid ones", () => {
    const valid = decision("hero", "b1");
    // The reason is shown (data-nb-reason), not relied on: a new one does not spoil the decision.
    const newReason = { ...decision("footer", "b5"), reason: "because" };
    const body = {
      decisions: [
        valid,
        { ...decision("sidebar", "b2"), block: { id: "b2" } },
        { ...decision("sidebar", "b3"), block: { html: "<p>no id</p>" } },
        { ...decision("sidebar", "b4"), decisionId: 7 },
        { ...decision("sidebar", "b6"), slot: undefined },
        newReason,
        null,
        "hero",
      ],
    };
    expect(parseDecisions(body)).toEqual([valid, newReason]);
  });
});
