import { describe, expect, it } from "vitest";
import { memberships, step, windowFigures, type MomentState, type Observation, type RecentEvent } from "../../worker/moments/evaluate.ts";
import { momentsConfigSchema, type MomentsConfig } from "../../worker/moments/schema.ts";
import { EXAMPLE_MOMENTS } from "./moments-fixtures.ts";

const MIN = 60_000;
const T0 = Date.UTC(2026, 10, 2, 9);

const config: MomentsConfig = momentsConfigSchema.parse(EXAMPLE_MOMENTS);
const ev = (minutes: number, event: string, category?: string): RecentEvent => ({ at: T0 + minutes * MIN, event, ...(category ? { category } : {}) });

/** Runs the events one by one (as the events path does), then one decide-time observation. */
function run(events: RecentEvent[], decide: Omit<Observation, "event">) {
  const states = new Map<string, MomentState>();
  const recent: RecentEvent[] = [];
  for (const e of events) {
    recent.push(e);
    step(config, states, recent, { now: e.at, event: e, visitCount: decide.visitCount ?? 2 });
  }
  step(config, states, recent, decide);
  return memberships(config, states).map((m) => m.id);
}

describe("trigger grammar", () => {
  it.each([
    { name: "intent spike: 3 views in one category within 30 min", events: [ev(0, "product_view", "shoes"), ev(10, "product_view", "shoes"), ev(20, "product_view", "shoes")], at: 21, visits: 2, signals: {}, expected: ["intent-spike"] },
    { name: "no spike: 3 views over two categories", events: [ev(0, "product_view", "shoes"), ev(10, "product_view", "bags"), ev(20, "product_view", "shoes")], at: 21, visits: 2, signals: {}, expected: [] },
    { name: "no spike: 3 views in one category over 40 min", events: [ev(0, "product_view", "shoes"), ev(20, "product_view", "shoes"), ev(40, "product_view", "shoes")], at: 41, visits: 2, signals: {}, expected: [] },
    { name: "first visit: onboarding", events: [], at: 0, visits: 1, signals: {}, expected: ["onboarding"] },
    { name: "second visit: not onboarding", events: [], at: 0, visits: 2, signals: {}, expected: [] },
    { name: "plan renews in 12 days: renewal window", events: [], at: 0, visits: 3, signals: { daysToRenewal: 12 }, expected: ["renewal-window"] },
    { name: "plan renews in 45 days: no renewal window", events: [], at: 0, visits: 3, signals: { daysToRenewal: 45 }, expected: [] },
    { name: "cart left for an hour: abandonment", events: [ev(0, "add_to_cart")], at: 61, visits: 2, signals: {}, expected: ["abandonment"] },
    { name: "cart left for 30 minutes: not yet", events: [ev(0, "add_to_cart")], at: 30, visits: 2, signals: {}, expected: [] },
    { name: "cart bought: no abandonment", events: [ev(0, "add_to_cart"), ev(5, "conversion")], at: 90, visits: 2, signals: {}, expected: [] },
  ])("$name", ({ events, at, visits, signals, expected }) => {
    expect(run(events, { now: T0 + at * MIN, visitCount: visits, signals })).toEqual(expected);
  });

  it("window figures: count, most per key, seconds since the latest", () => {
    const recent = [ev(0, "product_view", "a"), ev(5, "product_view", "b"), ev(6, "product_view", "b"), ev(7, "add_to_cart")];
    expect(windowFigures({ event: "product_view", within: 3600, by: "category" }, recent, T0 + 10 * MIN)).toEqual({ count: 3, maxPerKey: 2, ago: 240 });
    expect(windowFigures({ event: "product_view", within: 360 }, recent, T0 + 10 * MIN)).toEqual({ count: 2, maxPerKey: 2, ago: 240 });
    expect(windowFigures({ event: "signup", within: 60 }, recent, T0 + 10 * MIN)).toEqual({ count: 0, maxPerKey: 0, ago: null });
  });
});

describe("entry, exit and re-entry with an injected clock", () => {
  const one = momentsConfigSchema.parse({
    moments: [{ id: "spike", trigger: { event: "product_view" }, exit: { event: "conversion", afterSeconds: 3600 }, reentry: { maxEntries: 2, cooldownSeconds: 600 }, kpi: { event: "conversion", windowSeconds: 3600 } }],
  });
  const view = (m: number) => ({ now: T0 + m * MIN, event: ev(m, "product_view") });
  const buy = (m: number) => ({ now: T0 + m * MIN, event: ev(m, "conversion") });

  it("enters on its event, exits on the exit event, waits the cooldown, stops at maxEntries", () => {
    const states = new Map<string, MomentState>();
    const s = (o: Observation) => step(one, states, [], o);
    expect(s(view(0))).toEqual({ entered: ["spike"], exited: [] });
    expect(memberships(one, states)).toEqual([{ id: "spike", enteredAt: T0, kpi: { event: "conversion", windowSeconds: 3600 } }]);
    expect(s(view(1))).toEqual({ entered: [], exited: [] }); // already a member
    expect(s(buy(2))).toEqual({ entered: [], exited: ["spike"] });
    expect(s(view(5))).toEqual({ entered: [], exited: [] }); // cooldown: 10 min after the exit
    expect(s(view(12))).toEqual({ entered: ["spike"], exited: [] }); // second entry
    expect(s(buy(13)).exited).toEqual(["spike"]);
    expect(s(view(40))).toEqual({ entered: [], exited: [] }); // maxEntries 2 reached
    expect(states.get("spike")).toEqual({ id: "spike", enteredAt: null, entries: 2, lastExit: T0 + 13 * MIN });
  });

  it("leaves after exit.afterSeconds at the next observation", () => {
    const states = new Map<string, MomentState>();
    step(one, states, [], view(0));
    expect(step(one, states, [], { now: T0 + 59 * MIN }).exited).toEqual([]);
    expect(step(one, states, [], { now: T0 + 60 * MIN }).exited).toEqual(["spike"]);
  });
});

describe("configuration validation", () => {
  it.each([
    [{ moments: [{ id: "x", trigger: {}, exit: { event: "conversion" }, kpi: { event: "conversion", windowSeconds: 60 } }] }, "moments.0.trigger"],
    [{ moments: [{ id: "x", trigger: { event: "view" }, exit: {}, kpi: { event: "conversion", windowSeconds: 60 } }] }, "moments.0.exit"],
    [{ moments: [{ id: "x", trigger: { event: "view" }, exit: { event: "conversion" } }] }, "moments.0.kpi"],
    [{ moments: [{ id: "x", trigger: { condition: { method: ["a", "b"] } }, exit: { event: "c" }, kpi: { event: "c", windowSeconds: 60 } }] }, "moments.0.trigger.condition"],
    [{ moments: [{ id: "x", trigger: { condition: { ">=": [{ var: "events.views.count" }, 3] } }, exit: { event: "c" }, kpi: { event: "c", windowSeconds: 60 } }] }, "moments.0.trigger.condition"],
    [{ moments: [{ id: "x", trigger: { windows: { v: { event: "view", within: 999_999_999 } }, event: "v" }, exit: { event: "c" }, kpi: { event: "c", windowSeconds: 60 } }] }, "moments.0.trigger.windows.v.within"],
    [{ moments: [{ id: "x", trigger: { event: "view" }, exit: { event: "c" }, kpi: { event: "c", windowSeconds: 60 }, actions: ["Not An Id"] }] }, "moments.0.actions.0"],
    [{ moments: [0, 1].map(() => ({ id: "x", trigger: { event: "view" }, exit: { event: "c" }, kpi: { event: "c", windowSeconds: 60 } })) }, "moments.1.id"],
  ])("refuses %j at %s", (bad, path) => {
    const r = momentsConfigSchema.safeParse(bad);
    expect(r.success).toBe(false);
    expect(r.error!.issues.map((i) => i.path.join("."))).toContain(path);
  });

  it.each(["__proto__", "constructor", "prototype"])("refuses a window named %s as sent in JSON (not saved as no window)", (name) => {
    const body = `{"moments":[{"id":"x","trigger":{"event":"click","windows":{"${name}":{"event":"click","within":60}}},"exit":{"event":"c"},"kpi":{"event":"c","windowSeconds":60}}]}`;
    const r = momentsConfigSchema.safeParse(JSON.parse(body));
    expect(r.success).toBe(false);
    expect(r.error!.issues.map((i) => [i.path.join("."), i.message])).toContainEqual(["moments.0.trigger.windows", "reserved window name"]);
  });

  it("refuses a condition nested thousands deep without exhausting the stack", () => {
    let condition: unknown = { var: "now" };
    for (let i = 0; i < 5_000; i++) condition = { "!": [condition] };
    const r = momentsConfigSchema.safeParse({ moments: [{ id: "x", trigger: { condition }, exit: { event: "c" }, kpi: { event: "c", windowSeconds: 60 } }] });
    expect(r.success).toBe(false);
    expect(r.error!.issues.map((i) => i.path.join("."))).toContain("moments.0.trigger.condition");
  });
});
