// Impressions (half the slot in view for a second) and clicks, one of each per decision and page,
// for slots the client filled and slots the edge filled.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { VISIBLE_MS } from "../../client/index.ts";
import { decision, recordingFetch } from "./helpers.ts";
import { FakeIntersectionObserver, openPage, settle, type TestPage } from "./page.ts";

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
});
afterEach(() => {
  vi.useRealTimers();
});

const slot = (page: TestPage, name: string) => page.doc.querySelector(`[data-nb-slot="${name}"]`)!;

/** A page whose visitor accepted analytics, so events are sent. */
async function measuredPage(options: Parameters<typeof openPage>[0] = {}): Promise<TestPage> {
  const page = await openPage(options);
  await page.client.consent({ personalization: true, analytics: true });
  return page;
}

/** What left the page once it is hidden, as [type, slot, decisionId]. */
async function sentOnHide(page: TestPage) {
  page.hide();
  await settle();
  return page.sent().map((event) => [event.type, event.slot, event.decisionId]);
}

describe("impressions", () => {
  it("count once at least half the slot has been in view for a second", async () => {
    const page = await measuredPage();
    const hero = slot(page, "hero");
    const decisionId = hero.getAttribute("data-nb-decision")!;
    FakeIntersectionObserver.show(hero, 0.5);
    await vi.advanceTimersByTimeAsync(VISIBLE_MS - 1);
    expect(await sentOnHide(page)).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(await sentOnHide(page)).toEqual([["impression", "hero", decisionId]]);
    const [event] = page.sent();
    expect(event).toEqual({ type: "impression", eventId: `impression:${decisionId}`, visitorId: expect.any(String), decisionId, blockId: "hero-block", slot: "hero" });
    expect(event!.visitorId).toBe(page.decides.at(-1)!.body.visitorId);
  });

  it.each([
    { case: "less than half in view", steps: [[0.49, 5_000]] },
    { case: "in view for less than a second", steps: [[1, 999], [0.2, 5_000]] },
    { case: "out of view before the second is over, twice", steps: [[0.8, 600], [0, 100], [0.8, 600], [0.3, 2_000]] },
  ])("do not count when $case", async ({ steps }) => {
    const page = await measuredPage();
    for (const [ratio, ms] of steps) {
      FakeIntersectionObserver.show(slot(page, "hero"), ratio!);
      await vi.advanceTimersByTimeAsync(ms!);
    }
    expect(await sentOnHide(page)).toEqual([]);
  });

  it("count once per decision, however often the slot comes back into view", async () => {
    const page = await measuredPage();
    for (let i = 0; i < 3; i++) {
      FakeIntersectionObserver.show(slot(page, "hero"), 1);
      await vi.advanceTimersByTimeAsync(2_000);
      FakeIntersectionObserver.show(slot(page, "hero"), 0);
    }
    expect(await sentOnHide(page)).toHaveLength(1);
  });

  it("count again for a new decision in the same slot", async () => {
    const page = await measuredPage();
    const first = slot(page, "hero").getAttribute("data-nb-decision");
    FakeIntersectionObserver.show(slot(page, "hero"), 1);
    await vi.advanceTimersByTimeAsync(2_000);
    await page.client.refresh(); // decision ids differ per decide
    const second = slot(page, "hero").getAttribute("data-nb-decision");
    expect(second).not.toBe(first);
    FakeIntersectionObserver.show(slot(page, "hero"), 1);
    await vi.advanceTimersByTimeAsync(2_000);
    expect((await sentOnHide(page)).map(([, , id]) => id)).toEqual([first, second]);
  });

  it("are not sent without analytics consent, even with personalization", async () => {
    const page = await openPage();
    await page.client.consent({ personalization: true, analytics: false });
    FakeIntersectionObserver.show(slot(page, "hero"), 1);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(await sentOnHide(page)).toEqual([]);
    expect(page.beacons).toEqual([]);
  });

  it("are not sent before the visitor answers", async () => {
    const page = await openPage();
    FakeIntersectionObserver.show(slot(page, "hero"), 1);
    await vi.advanceTimersByTimeAsync(2_000);
    page.leave();
    expect(await sentOnHide(page)).toEqual([]);
  });
});

describe("clicks", () => {
  it("on anything inside a decided slot count once per decision", async () => {
    const page = await measuredPage({ body: '<div data-nb-slot="hero"><p>Hero default</p></div><p id="outside">outside</p>' });
    const decisionId = slot(page, "hero").getAttribute("data-nb-decision");
    (page.doc.getElementById("outside") as HTMLElement).click();
    for (let i = 0; i < 3; i++) {
      page.clock.advance(1_000); // a second apart: not a rage click
      (slot(page, "hero").querySelector("p") as HTMLElement).click();
    }
    expect(await sentOnHide(page)).toEqual([["click", "hero", decisionId]]);
  });

  it("are seen even when the page stops the click's propagation", async () => {
    const page = await measuredPage();
    slot(page, "hero").addEventListener("click", (event) => event.stopPropagation());
    (slot(page, "hero").querySelector("p") as HTMLElement).click();
    expect((await sentOnHide(page)).map(([type]) => type)).toEqual(["click"]);
  });
});

describe("slots the edge filled", () => {
  const EDGE_PAGE =
    '<div data-nb-slot="hero" data-nb-source="edge" data-nb-decision="d-edge-hero" data-nb-block="hero-shoes-trail" data-nb-reason="ranked"><a href="/shoes.html">Trail</a></div>' +
    '<aside data-nb-slot="sidebar"><p>Sidebar default</p></aside>' +
    '<script type="application/json" id="nb-decisions">[{"slot":"hero","decisionId":"d-edge-hero","blockId":"hero-shoes-trail","reason":"ranked","modelVersion":"m"}]</script>';

  it("are not decided again, but their impressions and clicks are measured with the edge's ids", async () => {
    const page = await measuredPage({ body: EDGE_PAGE });
    expect(page.decides.map((call) => call.body.slots)).toEqual([["sidebar"], ["sidebar"]]);
    const hero = slot(page, "hero");
    expect(hero.getAttribute("data-nb-decision")).toBe("d-edge-hero"); // untouched
    expect(hero.hasAttribute("data-nb-state")).toBe(false);
    FakeIntersectionObserver.show(hero, 1);
    await vi.advanceTimersByTimeAsync(VISIBLE_MS);
    (hero.querySelector("a") as HTMLElement).click();
    expect(await sentOnHide(page)).toEqual([
      ["impression", "hero", "d-edge-hero"],
      ["click", "hero", "d-edge-hero"],
    ]);
    expect(page.sent()[0]).toMatchObject({ blockId: "hero-shoes-trail" });
  });
});

describe("a decision made without analytics consent", () => {
  it("is never measured, even when consent comes while it is shown", async () => {
    let decides = 0;
    const page = await openPage({ start: false }); // its own client stays unstarted
    const { ALL_EXTRAS, createNextbest } = await import("../../client/index.ts");
    // The first decide answers; the one after consent fails, so the first decision stays shown.
    const { fetchImpl } = recordingFetch((body) =>
      ++decides === 1 ? Response.json({ decisions: body.slots.map((slot) => decision(slot, `${slot}-block`)) }) : new Response(null, { status: 503 }),
    );
    const client = createNextbest({ endpoint: "https://edge.example", win: page.win, fetchImpl, extras: async () => ALL_EXTRAS });
    await client.start();
    await settle();
    await client.consent({ personalization: true, analytics: true });
    const hero = page.doc.querySelector('[data-nb-slot="hero"]')!;
    expect(hero.getAttribute("data-nb-decision")).toBe("d-hero");
    FakeIntersectionObserver.show(hero, 1);
    vi.advanceTimersByTime(VISIBLE_MS);
    hero.querySelector("p")!.dispatchEvent(new page.win.MouseEvent("click", { bubbles: true }));
    client.track("add_to_cart"); // what the visitor does after consenting is measured
    await settle();
    page.hide();
    await settle();
    expect(page.beacons.flatMap((beacon) => beacon.batch.events).map((event) => event.name ?? event.type)).toEqual(["add_to_cart"]);
  });
});
