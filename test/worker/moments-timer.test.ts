// The moment timer (worker/moments/timer.ts): the next time a moment could enter or exit with no
// new event — exact for windows, `ago` thresholds, afterSeconds and cooldowns; sampled and refined
// for conditions on `now` — checked here as a pure function with a fixed clock.
import { describe, expect, it } from "vitest";
import type { MomentState, RecentEvent } from "../../worker/moments/evaluate.ts";
import { momentsConfigSchema } from "../../worker/moments/schema.ts";
import { CLOCK_SAMPLE_MS, TIMER_HORIZON_MS, hasTimedMoments, nextMomentCheck } from "../../worker/moments/timer.ts";

const T0 = Date.parse("2031-03-10T08:00:00Z");
const S = 1000;
const kpi = { event: "conversion", windowSeconds: 86_400 };

/** "Cart left for 1 hour": a cart in the last day, the latest an hour ago or more, no purchase since. */
const abandonment = {
  id: "cart-left",
  trigger: {
    windows: { carts: { event: "add_to_cart", within: 86_400 }, buys: { event: "conversion", within: 86_400 } },
    condition: { and: [{ ">=": [{ var: "events.carts.ago" }, 3600] }, { "==": [{ var: "events.buys.count" }, 0] }] },
  },
  exit: { event: "conversion" },
  kpi,
};
/** Entered by a view; left after 30 minutes whatever happens. */
const timedOut = { id: "browse", trigger: { event: "product_view" }, exit: { afterSeconds: 1800 }, kpi };
/** Three views within 30 minutes; may come back 10 minutes after leaving. */
const spike = {
  id: "spike",
  trigger: { windows: { views: { event: "product_view", within: 1800 } }, condition: { ">=": [{ var: "events.views.count" }, 3] } },
  exit: { windows: { views: { event: "product_view", within: 1800 } }, condition: { "<": [{ var: "events.views.count" }, 1] } },
  reentry: { maxEntries: 5, cooldownSeconds: 600 },
  kpi,
};
/** A campaign that opens at a fixed instant (an absolute threshold on `now`). */
const launch = Date.parse("2031-03-12T09:30:00Z");
const opening = { id: "launch", trigger: { condition: { ">=": [{ var: "now" }, launch] } }, exit: { event: "conversion" }, kpi };
/** Afternoons (UTC): a condition on `now` with no constant to read the flip from — sampled, then bisected. */
const afternoon = { id: "afternoon", trigger: { condition: { ">=": [{ "%": [{ var: "now" }, 86_400_000] }, 43_200_000] } }, exit: { event: "conversion" }, kpi };
const gold = { id: "gold", trigger: { condition: { "==": [{ var: "profile.tier" }, "gold"] } }, exit: { event: "conversion" }, kpi };
const bySignal = { id: "by-signal", trigger: { condition: { "==": [{ var: "signals.pageType" }, "cart"] } }, exit: { condition: { "!=": [{ var: "signals.pageType" }, "cart"] } }, kpi };

const config = (...moments: unknown[]) => momentsConfigSchema.parse({ moments });
const ev = (event: string, at: number): RecentEvent => ({ event, at });
const member = (id: string, enteredAt: number, entries = 1): [string, MomentState] => [id, { id, enteredAt, entries, lastExit: null }];
const left = (id: string, lastExit: number, entries = 1): [string, MomentState] => [id, { id, enteredAt: null, entries, lastExit }];

describe("nextMomentCheck", () => {
  it.each([
    { name: "cart left: an hour after the cart", moments: [abandonment], states: [], recent: [ev("add_to_cart", T0)], now: T0 + 10 * S, want: T0 + 3600 * S },
    { name: "cart left: the latest cart counts", moments: [abandonment], states: [], recent: [ev("add_to_cart", T0), ev("add_to_cart", T0 + 600 * S)], now: T0 + 700 * S, want: T0 + 4200 * S },
    { name: "cart left: bought since, nothing will happen", moments: [abandonment], states: [], recent: [ev("add_to_cart", T0), ev("conversion", T0 + 60 * S)], now: T0 + 120 * S, want: null },
    { name: "cart left: already due when the events came late", moments: [abandonment], states: [], recent: [ev("add_to_cart", T0)], now: T0 + 7200 * S, want: T0 + 7200 * S },
    { name: "cart left: entered once, re-entry used up", moments: [abandonment], states: [left("cart-left", T0 + 60 * S)], recent: [ev("add_to_cart", T0)], now: T0 + 120 * S, want: null },
    { name: "afterSeconds ends the membership", moments: [timedOut], states: [member("browse", T0)], recent: [], now: T0 + 5 * S, want: T0 + 1800 * S },
    { name: "a window empties: the exit", moments: [spike], states: [member("spike", T0 + 120 * S)], recent: [ev("product_view", T0), ev("product_view", T0 + 60 * S), ev("product_view", T0 + 120 * S)], now: T0 + 130 * S, want: T0 + 1920 * S },
    { name: "cooldown over, trigger holds: re-entry", moments: [spike], states: [left("spike", T0 + 100 * S)], recent: [0, 30, 60].map((s) => ev("product_view", T0 + s * S)), now: T0 + 110 * S, want: T0 + 700 * S },
    { name: "cooldown over after the window emptied: nothing", moments: [spike], states: [left("spike", T0 + 100 * S)], recent: [ev("product_view", T0)], now: T0 + 110 * S, want: null },
    { name: "absolute time on now", moments: [opening], states: [], recent: [], now: launch - 3 * 86_400_000, want: launch },
    { name: "the earliest of several moments", moments: [abandonment, timedOut], states: [member("browse", T0)], recent: [ev("add_to_cart", T0)], now: T0 + 5 * S, want: T0 + 1800 * S },
    { name: "profile only: time changes nothing", moments: [gold], states: [], recent: [], now: T0, want: null },
    { name: "signals: left to decides", moments: [bySignal], states: [member("by-signal", T0)], recent: [], now: T0 + 5 * S, want: null },
  ])("$name", ({ moments, states, recent, now, want }) => {
    const before = structuredClone(new Map(states as Array<[string, MomentState]>));
    const map = new Map(states as Array<[string, MomentState]>);
    expect(nextMomentCheck(config(...moments), map, recent, { profile: { tier: "silver" } }, now)).toBe(want);
    expect(map).toEqual(before);
  });

  it("a condition on now with no constant to read: sampled hourly, the change found to the second", () => {
    const noon = Date.parse("2031-03-10T12:00:00Z");
    const at = nextMomentCheck(config(afternoon), new Map(), [], {}, noon - 90 * 60_000 + 17 * S);
    expect(at).toBeGreaterThanOrEqual(noon);
    expect(at! - noon).toBeLessThan(S);
  });

  it("a condition on now that stays false wakes the object at the horizon to look further", () => {
    const later = { ...opening, trigger: { condition: { ">=": [{ var: "now" }, launch + 30 * 86_400_000] } } };
    expect(nextMomentCheck(config(later), new Map(), [], {}, T0)).toBe(T0 + TIMER_HORIZON_MS);
    expect(TIMER_HORIZON_MS % CLOCK_SAMPLE_MS).toBe(0);
  });

  it.each([
    { moments: [gold], want: true },
    { moments: [timedOut], want: true },
    { moments: [bySignal], want: false },
    { moments: [{ id: "on-event", trigger: { event: "signup" }, exit: { event: "conversion" }, kpi }], want: false },
  ])("hasTimedMoments($moments.0.id) = $want", ({ moments, want }) => {
    expect(hasTimedMoments(config(...moments))).toBe(want);
  });
});
