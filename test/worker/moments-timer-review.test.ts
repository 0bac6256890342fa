// Review cases for the moment timer (worker/moments/timer.ts): times computed by hand, and conditions
// that read a decide's signals through `missing`/`missing_some` or a computed name (left to decides).
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { MomentState, RecentEvent } from "../../worker/moments/evaluate.ts";
import { momentsConfigSchema } from "../../worker/moments/schema.ts";
import { TIMER_HORIZON_MS, hasTimedMoments, nextMomentCheck, timed } from "../../worker/moments/timer.ts";

const T0 = Date.parse("2031-03-10T08:00:00Z");
const S = 1000;
const DAY = 86_400_000;
const kpi = { event: "conversion", windowSeconds: 86_400 };
const config = (...moments: unknown[]) => momentsConfigSchema.parse({ moments });
const ev = (event: string, at: number): RecentEvent => ({ event, at });
const member = (id: string, enteredAt: number): [string, MomentState] => [id, { id, enteredAt, entries: 1, lastExit: null }];
const left = (id: string, lastExit: number, entries = 1): [string, MomentState] => [id, { id, enteredAt: null, entries, lastExit }];

const carts = { carts: { event: "add_to_cart", within: 86_400 } };
const agoAbove = { id: "m", trigger: { windows: carts, condition: { ">": [{ var: "events.carts.ago" }, 3600] } }, exit: { event: "conversion" }, kpi };
const oneLeft = { id: "m", trigger: { windows: { v: { event: "product_view", within: 600 } }, condition: { "==": [{ var: "events.v.count" }, 1] } }, exit: { event: "conversion" }, kpi };
const timedOutWithCooldown = { id: "m", trigger: { windows: carts, condition: { ">=": [{ var: "events.carts.count" }, 1] } }, exit: { afterSeconds: 600 }, reentry: { maxEntries: 3, cooldownSeconds: 900 }, kpi };
const renewal = { id: "m", trigger: { condition: { "<": [{ "-": [{ var: "profile.renewsAt" }, { var: "now" }] }, 30 * DAY] } }, exit: { event: "conversion" }, kpi };

describe("nextMomentCheck: hand-computed times", () => {
  it.each([
    { name: "ago > 3600: one second after the hour", moment: agoAbove, states: [], recent: [ev("add_to_cart", T0)], now: T0 + 5 * S, want: T0 + 3601 * S },
    { name: "count == 1 once the first of two views leaves the 10-minute window", moment: oneLeft, states: [], recent: [ev("product_view", T0), ev("product_view", T0 + 100 * S)], now: T0 + 120 * S, want: T0 + 600 * S },
    { name: "afterSeconds already past: now", moment: timedOutWithCooldown, states: [member("m", T0)], recent: [ev("add_to_cart", T0)], now: T0 + 700 * S, want: T0 + 700 * S },
    { name: "cooldown then trigger still true: re-entry at the cooldown's end", moment: timedOutWithCooldown, states: [left("m", T0 + 600 * S)], recent: [ev("add_to_cart", T0)], now: T0 + 601 * S, want: T0 + 1500 * S },
    { name: "re-entry used up: nothing", moment: timedOutWithCooldown, states: [left("m", T0 + 600 * S, 3)], recent: [ev("add_to_cart", T0)], now: T0 + 601 * S, want: null },
    { name: "renewal beyond the horizon: wake at the horizon", moment: renewal, states: [], recent: [], now: T0, want: T0 + TIMER_HORIZON_MS, profile: { renewsAt: T0 + 40 * DAY } },
  ])("$name", ({ moment, states, recent, now, want, profile }) => {
    expect(nextMomentCheck(config(moment), new Map(states as Array<[string, MomentState]>), recent, { profile: profile ?? {} }, now)).toBe(want);
  });

  it("renewal window: entered the first second renewsAt − now < 30 days", () => {
    const renewsAt = T0 + 33 * DAY + 1234 * S;
    const at = nextMomentCheck(config(renewal), new Map(), [], { profile: { renewsAt } }, T0);
    expect(at).toBeGreaterThan(renewsAt - 30 * DAY);
    expect(at! - (renewsAt - 30 * DAY)).toBeLessThanOrEqual(S);
  });
});

describe("moments that read signals through missing / missing_some / a computed name are left to decides", () => {
  const bySignalMissing = { id: "m", trigger: { condition: { "!": [{ missing: ["signals.pageType"] }] } }, exit: { condition: { missing: ["signals.pageType"] } }, kpi };
  const bySignalSome = { id: "m", trigger: { condition: { "!": [{ missing_some: [1, ["signals.pageType", "signals.cartValue"]] }] } }, exit: { condition: { missing_some: [1, ["signals.pageType", "signals.cartValue"]] } }, kpi };
  const computed = { id: "m", trigger: { condition: { "==": [{ var: { cat: ["sig", "nals.pageType"] } }, "cart"] } }, exit: { condition: { "!=": [{ var: { cat: ["sig", "nals.pageType"] } }, "cart"] } }, kpi };
  it.each([
    { name: "missing", moment: bySignalMissing },
    { name: "missing_some", moment: bySignalSome },
    { name: "computed var name", moment: computed },
  ])("$name: not timed, and a member is not exited by the timer", ({ moment }) => {
    const c = config(moment);
    expect(timed(c.moments[0]!)).toBe(false);
    expect(hasTimedMoments(c)).toBe(false);
    expect(nextMomentCheck(c, new Map([member("m", T0)]), [], {}, T0 + 5 * S)).toBeNull();
  });
});

describe("the visitor object's timer row follows the configuration", () => {
  const browse = { id: "browse", trigger: { event: "product_view" }, exit: { afterSeconds: 1800 }, kpi };
  const bySignal = { id: "by-signal", trigger: { condition: { "==": [{ var: "signals.pageType" }, "cart"] } }, exit: { condition: { "!=": [{ var: "signals.pageType" }, "cart"] } }, kpi };
  const timerRows = (stub: DurableObjectStub) =>
    runInDurableObject(stub, (_o, state) => (state.storage.sql.exec("SELECT name FROM sqlite_master WHERE name = 'moment_timer'").toArray().length ? state.storage.sql.exec<{ at: number }>("SELECT at FROM moment_timer").toArray().map((r) => r.at) : []));
  const alarmOf = (stub: DurableObjectStub) => runInDurableObject(stub, (_o, state) => state.storage.getAlarm());

  it("a run under a configuration with nothing timed removes the timer", async () => {
    const key = "customer:rv-timer-config";
    const stub = env.VISITOR.get(env.VISITOR.idFromName(key));
    const t = Date.now();
    expect((await stub.momentEvents([{ at: t, event: "product_view" }], { config: config(browse), key }, t)).entered).toEqual(["browse"]);
    expect(await timerRows(stub)).toEqual([t + 1_800_000]);
    // The moments were reconfigured: only a signal-driven one is left. Its alarm runs.
    await stub.momentTimer(config(bySignal), key, t + 1_800_000);
    expect(await timerRows(stub)).toEqual([]);
    expect(await alarmOf(stub)).toBeNull();
  });

  it("a decide re-arms a timer whose armed time is past (its alarm lost)", async () => {
    const key = "customer:rv-timer-lost";
    const stub = env.VISITOR.get(env.VISITOR.idFromName(key));
    const t = Date.now();
    await stub.momentEvents([{ at: t, event: "product_view" }], { config: config(browse), key }, t);
    // The row says an hour ago; no alarm is set (a setAlarm that failed, or a run that did not re-arm).
    await runInDurableObject(stub, async (_o, state) => {
      state.storage.sql.exec("UPDATE moment_timer SET at = ?", t - 3_600_000);
      await state.storage.deleteAlarm();
    });
    await stub.momentsAtDecide({ config: config(browse), key }, t + 1000, true);
    expect(await timerRows(stub)).toEqual([t + 1_800_000]);
    expect(await alarmOf(stub)).toBe(t + 1_800_000);
  });

  it("an anonymous visitor's object never arms one (its moments change at its events and decides)", async () => {
    const key = "0123456789abcdef0123456789abcdef"; // a visitor key (32 hex), not customer:…
    const stub = env.VISITOR.get(env.VISITOR.idFromName(key));
    const t = Date.now();
    expect((await stub.momentEvents([{ at: t, event: "product_view" }], { config: config(browse), key }, t)).entered).toEqual(["browse"]);
    await stub.momentsAtDecide({ config: config(browse), key }, t + 1000, true);
    expect(await timerRows(stub)).toEqual([]);
    expect(await alarmOf(stub)).toBeNull();
    // Still left at its next decide after the 30 minutes, as before timers.
    expect(await stub.momentsAtDecide({ config: config(browse), key }, t + 1_800_000, true)).toEqual([]);
  });
});

describe("ago in arithmetic: sampled and refined, not missed", () => {
  const T0b = Date.parse("2031-03-10T08:00:00Z");
  const windows = { carts: { event: "add_to_cart", within: 86_400 } };
  it.each([
    { name: "ago >= 60 * 60", condition: { ">=": [{ var: "events.carts.ago" }, { "*": [60, 60] }] } },
    { name: "ago / 60 >= 60", condition: { ">=": [{ "/": [{ var: "events.carts.ago" }, 60] }, 60] } },
  ])("$name: an hour after the cart, to the second", ({ condition }) => {
    const c = config({ id: "m", trigger: { windows, condition }, exit: { event: "conversion" }, kpi });
    const at = nextMomentCheck(c, new Map(), [ev("add_to_cart", T0b)], {}, T0b + 5 * S);
    expect(at).toBeGreaterThanOrEqual(T0b + 3600 * S);
    expect(at! - (T0b + 3600 * S)).toBeLessThanOrEqual(S);
  });
  it("the window empty: nothing to sample", () => {
    const c = config({ id: "m", trigger: { windows, condition: { ">=": [{ "/": [{ var: "events.carts.ago" }, 60] }, 60] } }, exit: { event: "conversion" }, kpi });
    expect(nextMomentCheck(c, new Map(), [], {}, T0b)).toBeNull();
  });
});

describe("the README's renewal-window condition", () => {
  const T0c = Date.parse("2031-03-10T08:00:00Z");
  const step30 = { "<=": [{ "-": [{ var: "profile.renewsAt" }, { var: "now" }] }, 2_592_000_000] };
  const guarded = { and: [{ ">=": [{ var: "profile.renewsAt" }, { var: "now" }] }, step30] };
  const moment = (condition: unknown) => config({ id: "m", trigger: { condition }, exit: { event: "conversion" }, kpi });
  it("without the renewsAt >= now guard, a customer with no renewal date is due at once (null − now < 30 days)", () => {
    expect(nextMomentCheck(moment(step30), new Map(), [], { profile: {} }, T0c)).toBe(T0c);
  });
  it("with it (as the README now shows), not: the object only looks again at the horizon", () => {
    expect(nextMomentCheck(moment(guarded), new Map(), [], { profile: {} }, T0c)).toBe(T0c + TIMER_HORIZON_MS);
    expect(nextMomentCheck(moment(guarded), new Map(), [], { profile: { renewsAt: T0c - DAY } }, T0c)).toBe(T0c + TIMER_HORIZON_MS);
  });
});
