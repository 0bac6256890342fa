// Friction heuristics, each as a table of what the visitor does, and what the client makes of a
// friction: a custom event `friction.<kind>` and a session counter for the next decide.
import { afterEach, describe, expect, it, vi } from "vitest";
import { Window as HappyWindow } from "happy-dom";
import { DEAD_CLICK_MS, listen, RAGE_GAP_MS, RAPID_BACK_MS, watchFriction, type FrictionKind } from "../../client/index.ts";
import { manualClock } from "./helpers.ts";
import { openPage, settle } from "./page.ts";

const windows: HappyWindow[] = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const win of windows.splice(0)) await win.happyDOM.close();
});

/** A page with a friction watcher; `changedAt` is when the DOM last changed (navigation.ts's job). */
function watched(body: string) {
  const happy = new HappyWindow({ url: "https://shop.example/" });
  windows.push(happy);
  const win = happy as unknown as Window & typeof globalThis;
  win.document.body.innerHTML = body;
  const clock = manualClock();
  const seen: FrictionKind[] = [];
  let changedAt = -Infinity;
  const leaving = watchFriction(win, (kind) => seen.push(kind), listen, () => changedAt, clock.now);
  const at = (selector: string) => win.document.querySelector(selector)!;
  return {
    win,
    clock,
    seen,
    leaving,
    at,
    domChanged: () => (changedAt = clock.now()),
    click(selector: string, x = 10, y = 10) {
      at(selector).dispatchEvent(new win.MouseEvent("click", { bubbles: true, clientX: x, clientY: y }));
    },
  };
}

describe("rage clicks", () => {
  it.each([
    { case: "3 quick clicks on one spot", clicks: [[0, 10, 10], [200, 12, 11], [200, 10, 12]], rage: 1 },
    { case: "8 quick clicks on one spot (one burst)", clicks: Array.from({ length: 8 }, () => [100, 10, 10]), rage: 1 },
    { case: "two bursts", clicks: [[0, 10, 10], [100, 10, 10], [100, 10, 10], [2_000, 10, 10], [100, 10, 10], [100, 10, 10]], rage: 2 },
    { case: "3 clicks too slow", clicks: [[0, 10, 10], [RAGE_GAP_MS, 10, 10], [RAGE_GAP_MS, 10, 10]], rage: 0 },
    { case: "3 quick clicks in different places", clicks: [[0, 10, 10], [100, 200, 10], [100, 10, 200]], rage: 0 },
    { case: "2 quick clicks (a double click)", clicks: [[0, 10, 10], [100, 10, 10]], rage: 0 },
  ])("$case → $rage", ({ clicks, rage }) => {
    const page = watched('<div id="image"></div>');
    for (const [wait, x, y] of clicks) {
      page.clock.advance(wait!);
      page.click("#image", x, y);
    }
    expect(page.seen.filter((kind) => kind === "rage_click")).toHaveLength(rage);
  });
});

describe("dead clicks", () => {
  it.each([
    { case: "a button that does nothing", target: "#button", change: undefined, dead: true },
    { case: "a link that goes nowhere", target: "#nowhere", change: undefined, dead: true },
    { case: "text inside a button", target: "#button span", change: undefined, dead: true },
    { case: "a button that opens something", target: "#button", change: "dom", dead: false },
    { case: "a link to another address (single-page app)", target: "#link", change: "url", dead: false },
    { case: "plain text, which looks nothing like a control", target: "#text", change: undefined, dead: false },
  ])("$case → dead: $dead", async ({ target, change, dead }) => {
    vi.useFakeTimers({ toFake: ["setTimeout"] });
    const page = watched('<button id="button"><span>Buy</span></button><a id="nowhere">More</a><a id="link" href="/more">More</a><p id="text">Words</p>');
    page.click(target);
    page.clock.advance(300);
    if (change === "dom") page.domChanged();
    if (change === "url") page.win.history.pushState({}, "", "/elsewhere");
    vi.advanceTimersByTime(DEAD_CLICK_MS - 1);
    expect(page.seen).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(page.seen).toEqual(dead ? ["dead_click"] : []);
  });
});

describe("forms", () => {
  const FORM = '<form id="form"><input id="email" type="email" required></form><form id="other"><input id="q"></form>';
  const type = (page: ReturnType<typeof watched>, selector: string) =>
    page.at(selector).dispatchEvent(new page.win.Event("input", { bubbles: true }));

  it.each([
    { case: "typed into and left", steps: ["type", "leave"], abandoned: 1 },
    { case: "typed into, submitted, left", steps: ["type", "submit", "leave"], abandoned: 0 },
    { case: "never typed into", steps: ["leave"], abandoned: 0 },
    { case: "typed into, the other form submitted", steps: ["type", "submit other", "leave"], abandoned: 1 },
  ])("$case → $abandoned abandoned", ({ steps, abandoned }) => {
    const page = watched(FORM);
    for (const step of steps) {
      if (step === "type") type(page, "#email");
      if (step.startsWith("submit")) page.at(step === "submit" ? "#form" : "#other").dispatchEvent(new page.win.Event("submit", { bubbles: true }));
      if (step === "leave") page.leaving();
    }
    expect(page.seen.filter((kind) => kind === "form_abandon")).toHaveLength(abandoned);
  });

  it("each field that fails validation is a field error (the event does not bubble: it is captured)", () => {
    const page = watched(FORM);
    page.at("#email").dispatchEvent(new page.win.Event("invalid", { bubbles: false }));
    page.at("#q").dispatchEvent(new page.win.Event("invalid", { bubbles: false }));
    expect(page.seen).toEqual(["field_error", "field_error"]);
  });
});

describe("exit intent and rapid back", () => {
  it.each([
    { case: "the mouse leaves through the top", out: { clientY: 0, relatedTarget: null }, exits: 1 },
    { case: "the mouse leaves through the top twice (once a page)", out: { clientY: -5, relatedTarget: null }, twice: true, exits: 1 },
    { case: "the mouse moves to another element at the top", out: { clientY: 0, relatedTarget: "other" }, exits: 0 },
    { case: "the mouse leaves through the bottom", out: { clientY: 700, relatedTarget: null }, exits: 0 },
  ])("exit intent: $case → $exits", ({ out, twice, exits }) => {
    const page = watched('<div id="a"></div><div id="other"></div>');
    const fire = () =>
      page.at("#a").dispatchEvent(
        new page.win.MouseEvent("mouseout", { bubbles: true, clientY: out.clientY, relatedTarget: out.relatedTarget ? page.at("#other") : null }),
      );
    fire();
    if (twice) fire();
    expect(page.seen.filter((kind) => kind === "exit_intent")).toHaveLength(exits);
  });

  it.each([
    { case: "back within seconds (restored from the back/forward cache)", away: 2_000, persisted: true, rapid: 1 },
    { case: "back after a while", away: RAPID_BACK_MS, persisted: true, rapid: 0 },
    { case: "a fresh load, not a restore", away: 1_000, persisted: false, rapid: 0 },
  ])("rapid back: $case → $rapid", ({ away, persisted, rapid }) => {
    const page = watched("");
    page.leaving(); // pagehide
    page.clock.advance(away);
    const show = new page.win.Event("pageshow") as Event & { persisted: boolean };
    Object.defineProperty(show, "persisted", { value: persisted });
    page.win.dispatchEvent(show);
    expect(page.seen.filter((kind) => kind === "rapid_back")).toHaveLength(rapid);
  });
});

describe("a friction in the client", () => {
  it("is sent as a custom event friction.<kind> and counted in the next decide's signals", async () => {
    const page = await openPage({ body: '<div data-nb-slot="hero">default</div><div id="image"></div>' });
    await page.client.consent({ personalization: true, analytics: true });
    for (let i = 0; i < 3; i++) (page.doc.getElementById("image") as HTMLElement).click();
    await settle();
    await page.client.refresh();
    expect(page.decides.at(-1)!.body.context.signals).toMatchObject({ rage_click: 1 });
    page.hide();
    await settle();
    expect(page.sent().map((event) => [event.type, event.name])).toEqual([["custom", "friction.rage_click"]]);
  });
});
