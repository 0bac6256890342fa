import { describe, expect, it } from "vitest";
import { addExposure, capReached, countInWindow, WINDOW_MS, type CapState, type CapWindow } from "../../worker/guardrails/caps.ts";
import { selectSlots, type RankedOption, type SelectionInput, type VisitorHistory } from "../../worker/decide/select.ts";

const T0 = 1_000_000_000;

function state(exposureTimes: number[], sessionStart = T0): CapState {
  const s: CapState = { recent: [], sessionStart, lifetime: {} };
  for (const at of exposureTimes) addExposure(s, { at, blockId: "b", campaign: "c", personalized: true });
  return s;
}

describe("sliding windows (injected clock)", () => {
  it.each([
    // window, exposure at T0, now, counted?
    { window: "hour", now: T0, counted: true },
    { window: "hour", now: T0 + WINDOW_MS.hour - 1, counted: true },
    { window: "hour", now: T0 + WINDOW_MS.hour, counted: false },
    { window: "day", now: T0 + WINDOW_MS.day - 1, counted: true },
    { window: "day", now: T0 + WINDOW_MS.day, counted: false },
    { window: "week", now: T0 + WINDOW_MS.week - 1, counted: true },
    { window: "week", now: T0 + WINDOW_MS.week, counted: false },
    { window: "lifetime", now: T0 + 10 * WINDOW_MS.week, counted: true },
  ] as Array<{ window: CapWindow; now: number; counted: boolean }>)("$window window at now−T0 = $now: counted $counted", ({ window, now, counted }) => {
    expect(countInWindow(state([T0]), { kind: "block", blockId: "b" }, window, now)).toBe(counted ? 1 : 0);
  });

  it.each([
    { sessionStart: T0, counted: true },
    { sessionStart: T0 + 1, counted: false },
  ])("session window counts exposures since the session start ($sessionStart)", ({ sessionStart, counted }) => {
    expect(countInWindow(state([T0], sessionStart), { kind: "block", blockId: "b" }, "session", T0 + 5)).toBe(counted ? 1 : 0);
  });

  it.each([
    { exposures: 2, limit: 3, reached: false },
    { exposures: 3, limit: 3, reached: true },
    { exposures: 0, limit: 0, reached: true },
  ])("cap of $limit with $exposures exposures: reached $reached", ({ exposures, limit, reached }) => {
    const s = state(Array.from({ length: exposures }, (_, i) => T0 + i));
    expect(capReached(s, { kind: "block", blockId: "b" }, { limit, window: "day" }, T0 + 100)).toBe(reached);
  });

  it("a capped block is allowed again exactly when its oldest exposure leaves the window", () => {
    const s = state([T0, T0 + 10, T0 + 20]);
    const cap = { limit: 3, window: "hour" as const };
    expect(capReached(s, { kind: "block", blockId: "b" }, cap, T0 + WINDOW_MS.hour - 1)).toBe(true);
    expect(capReached(s, { kind: "block", blockId: "b" }, cap, T0 + WINDOW_MS.hour)).toBe(false);
  });
});

const option = (blockId: string, over: Partial<RankedOption> = {}): RankedOption => ({ blockId, campaign: `camp-${blockId}`, tags: [], caps: [], rank: 1, personalized: true, ...over });

function input(over: Partial<SelectionInput>): SelectionInput {
  return { slots: [], epsilon: 0, globalCaps: [], campaignCaps: {}, maxPromotionalPerPage: 10, promotionalTag: "promo", oneBlockPerCampaign: false, excludeConverted: true, ...over };
}
const empty = (): VisitorHistory => ({ recent: [], sessionStart: T0, lifetime: {}, converted: [] });

describe("selection rules", () => {
  it.each([
    { name: "block cap", over: { slots: [{ slot: "s", decisionId: "d", options: [option("a", { caps: [{ limit: 0, window: "day" }] }), option("b")] }] }, want: [["b", "a:cap_block"]] },
    { name: "campaign cap", over: { campaignCaps: { "camp-a": [{ limit: 0, window: "week" }] }, slots: [{ slot: "s", decisionId: "d", options: [option("a"), option("b")] }] }, want: [["b", "a:cap_campaign"]] },
    { name: "global cap spares the default block", over: { globalCaps: [{ limit: 1, window: "session" }], slots: [{ slot: "s1", decisionId: "d1", options: [option("a")] }, { slot: "s2", decisionId: "d2", options: [option("b"), option("def", { personalized: false })] }] }, want: [["a"], ["def", "b:cap_global"]] },
    { name: "promo limit", over: { maxPromotionalPerPage: 1, slots: [{ slot: "s1", decisionId: "d1", options: [option("a", { tags: ["promo"] })] }, { slot: "s2", decisionId: "d2", options: [option("b", { tags: ["promo"] }), option("c")] }] }, want: [["a"], ["c", "b:promo_limit"]] },
    { name: "one campaign per page", over: { oneBlockPerCampaign: true, slots: [{ slot: "s1", decisionId: "d1", options: [option("a", { campaign: "x" })] }, { slot: "s2", decisionId: "d2", options: [option("b", { campaign: "x" }), option("c")] }] }, want: [["a"], ["c", "b:campaign_repeat"]] },
    { name: "one block per page", over: { slots: [{ slot: "s1", decisionId: "d1", options: [option("a")] }, { slot: "s2", decisionId: "d2", options: [option("a"), option("c")] }] }, want: [["a"], ["c", "a:used_on_page"]] },
    { name: "everything excluded → default", over: { slots: [{ slot: "s", decisionId: "d", options: [option("a", { caps: [{ limit: 0, window: "hour" }] })] }] }, want: [["(default)", "a:cap_block"]] },
  ])("$name", ({ over, want }) => {
    const picks = selectSlots(input(over as Partial<SelectionInput>), empty(), T0);
    expect(picks.map((p) => [p.pick?.blockId ?? "(default)", ...p.excluded.map((e) => `${e.blockId}:${e.reason}`)])).toEqual(want);
  });

  it("excludes campaigns the visitor converted on", () => {
    const history = { ...empty(), converted: ["camp-a"] };
    const [pick] = selectSlots(input({ slots: [{ slot: "s", decisionId: "d", options: [option("a"), option("b")] }] }), history, T0);
    expect(pick!.excluded).toEqual([{ blockId: "a", reason: "converted" }]);
  });
});

describe("out-of-order requests", () => {
  it("counts an exposure recorded with a later clock than the request's", () => {
    // Concurrent decides reach the visitor's Durable Object in any order.
    expect(capReached(state([T0 + 5]), { kind: "block", blockId: "b" }, { limit: 1, window: "day" }, T0)).toBe(true);
  });
});
