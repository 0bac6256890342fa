// Next-action guardrails, local time and the send-time estimator as pure functions (tables of
// cases), with reference values computed by hand in the comments.
import { describe, expect, it } from "vitest";
import { contactPolicySchema } from "../../worker/actions/schema.ts";
import { pickAdmitted } from "../../worker/next-action/contact-store.ts";
import { conditionGuard, consentGuard, contactPolicyGuard, isQuietHour, momentGuard, reachabilityGuard, serviceWindowGuard } from "../../worker/next-action/guardrails.ts";
import { chooseSendTime } from "../../worker/send-time/choose.ts";
import { emptyCounts, estimatePriorStrength, smoothedRates } from "../../worker/send-time/shrinkage.ts";
import { hourSlots, isoWithOffset, localHourOfWeek, localTime } from "../../worker/send-time/tz.ts";

const H = 3_600_000;
const D = 24 * H;

describe("consent per channel", () => {
  it.each([
    ["email", undefined, "no_marketing_consent"],
    ["email", { marketing: false, optIns: { email: true } }, "no_marketing_consent"],
    ["email", { marketing: true }, "not_opted_in"],
    ["email", { marketing: true, optIns: { email: true } }, undefined],
    ["sms", { marketing: true, optIns: { email: true } }, "not_opted_in"],
    ["push", { marketing: true, optIns: { push: false } }, "not_opted_in"],
    ["web", { marketing: true }, undefined],
    ["ads_audience", { marketing: true, optIns: { ads_audience: false } }, "not_opted_in"],
    ["sales_task", { marketing: true }, undefined],
  ] as const)("%s with %j → %s", (channel, contact, reason) => {
    expect(consentGuard(channel, contact)).toBe(reason);
  });
});

describe("reachability", () => {
  it.each([
    ["email", {}, "unreachable"],
    ["email", { reachable: { email: true } }, undefined],
    ["push", { reachable: { email: true } }, "unreachable"],
    ["sms", { reachable: { sms: false } }, "unreachable"],
    ["web", {}, undefined],
    ["sales_task", {}, undefined],
    ["in_app", { reachable: { in_app: true } }, undefined],
  ] as const)("%s with %j → %s", (channel, contact, reason) => {
    expect(reachabilityGuard(channel, contact)).toBe(reason);
  });
});

describe("moment, condition, service window, quiet hours", () => {
  it.each([
    [undefined, undefined, undefined],
    [undefined, ["renewal"], "not_in_moment"],
    ["renewal", ["renewal", "onboarding"], undefined],
    ["abandonment", ["renewal"], "not_in_moment"],
    ["renewal", undefined, "not_in_moment"],
  ] as const)("moment %s, action moments %j → %s", (moment, moments, reason) => {
    expect(momentGuard(moments ? { id: "a", moments: [...moments] } : { id: "a" }, moment)).toBe(reason);
  });

  it.each([
    ["the moment lists the action", "renewal", ["a"], undefined, undefined],
    ["the moment lists other actions", "renewal", ["b"], undefined, "not_in_moment"],
    ["the action lists the moment", "renewal", [], ["renewal"], undefined],
    ["no moment: a moment's list does not matter", undefined, ["a"], undefined, undefined],
  ] as const)("%s → %s", (_, moment, momentActions, moments, reason) => {
    expect(momentGuard(moments ? { id: "a", moments: [...moments] } : { id: "a" }, moment, momentActions)).toBe(reason);
  });

  it.each([
    [{ "==": [{ var: "profile.plan" }, "pro"] }, { profile: { plan: "pro" } }, undefined],
    [{ "==": [{ var: "profile.plan" }, "pro"] }, { profile: { plan: "free" } }, "condition_false"],
    [{ "==": [{ var: "moment" }, "renewal"] }, { moment: "renewal" }, undefined],
  ])("condition %j over %j → %s", (condition, data, reason) => {
    expect(conditionGuard({ condition: condition as never }, data)).toBe(reason);
  });

  it.each([
    [0, 0, 24, undefined],
    [24 * H, 0, 24, undefined],
    [24 * H + 1, 0, 24, "outside_service_window"],
    [47 * H, 0, 48, undefined],
  ])("now %d, trigger %d, window %d h → %s", (now, trigger, hours, reason) => {
    expect(serviceWindowGuard(now, trigger, hours)).toBe(reason);
  });

  it.each([
    [21, { start: 21, end: 8 }, true],
    [7, { start: 21, end: 8 }, true],
    [8, { start: 21, end: 8 }, false],
    [20, { start: 21, end: 8 }, false],
    [0, { start: 21, end: 8 }, true],
    [13, { start: 12, end: 14 }, true],
    [14, { start: 12, end: 14 }, false],
    [3, { start: 5, end: 5 }, false],
  ])("hour %d in quiet %j → %s", (hour, quiet, expected) => {
    expect(isQuietHour(hour, quiet)).toBe(expected);
  });
});

describe("cross-channel contact policy", () => {
  const policy = contactPolicySchema.parse({ weekly: 3, perChannelDaily: 1 });
  const t = 100 * D;
  it.each([
    ["empty history", [], "email", undefined],
    ["2 this week on other channels", [{ at: t - 3 * D, channel: "push" }, { at: t - 1 * D, channel: "web" }], "email", undefined],
    ["3 this week", [{ at: t - 6 * D, channel: "push" }, { at: t - 2 * D, channel: "web" }, { at: t - D, channel: "sms" }], "email", "weekly_cap"],
    ["3, one just over a week ago", [{ at: t - 7 * D, channel: "push" }, { at: t - 2 * D, channel: "web" }, { at: t - D, channel: "sms" }], "email", undefined],
    ["a scheduled one tomorrow counts", [{ at: t + D, channel: "push" }, { at: t - 2 * D, channel: "web" }, { at: t - 3 * D, channel: "sms" }], "email", "weekly_cap"],
    ["same channel within 24 h", [{ at: t - 23 * H, channel: "email" }], "email", "channel_daily_cap"],
    ["same channel 24 h ago", [{ at: t - 24 * H, channel: "email" }], "email", undefined],
    ["same channel scheduled in 5 h", [{ at: t + 5 * H, channel: "email" }], "email", "channel_daily_cap"],
  ] as const)("%s → %s", (_, history, channel, reason) => {
    expect(contactPolicyGuard(history, channel, t, policy)).toBe(reason);
  });

  it("picks the best admitted candidate; ε explores with a propensity that sums to 1", () => {
    const candidates = [
      { actionId: "a", channel: "email" as const, sendAt: t, hourOfWeek: 0, rank: 0.5 },
      { actionId: "b", channel: "push" as const, sendAt: t, hourOfWeek: 0, rank: 0.9 },
      { actionId: "c", channel: "sms" as const, sendAt: t, hourOfWeek: 0, rank: 0.1 },
    ];
    const history = [{ at: t - H, channel: "push" as const }];
    const r = pickAdmitted({ decisionId: "d1", candidates, policy, epsilon: 0, salt: "s", now: t }, history);
    expect(r.excluded).toEqual([{ actionId: "b", reason: "channel_daily_cap" }]);
    expect(r.chosen).toEqual({ index: 0, propensity: 1, explored: false });
    // Over many decisions with ε = 0.3 among 2 admitted: the greedy one has 0.85, the other 0.15.
    const picks = Array.from({ length: 4000 }, (_, i) => pickAdmitted({ decisionId: `d${i}`, candidates, policy, epsilon: 0.3, salt: "s", now: t }, history).chosen!);
    expect(new Set(picks.filter((p) => p.index === 0).map((p) => +p.propensity.toFixed(12)))).toEqual(new Set([0.85]));
    expect(new Set(picks.filter((p) => p.index === 2).map((p) => +p.propensity.toFixed(12)))).toEqual(new Set([0.15]));
    expect(picks.filter((p) => p.index === 2).length / picks.length).toBeCloseTo(0.15, 1);
  });
});

describe("local time across zones and DST", () => {
  it.each([
    // New York springs forward on 2026-03-08 at 02:00 EST (07:00Z) → 03:00 EDT.
    ["2026-03-08T06:59:00Z", "America/New_York", "2026-03-08T01:59:00-05:00", 6 * 24 + 1],
    ["2026-03-08T07:00:00Z", "America/New_York", "2026-03-08T03:00:00-04:00", 6 * 24 + 3],
    // London falls back on 2026-10-25 at 02:00 BST (01:00Z) → 01:00 GMT.
    ["2026-10-25T00:30:00Z", "Europe/London", "2026-10-25T01:30:00+01:00", 6 * 24 + 1],
    ["2026-10-25T01:30:00Z", "Europe/London", "2026-10-25T01:30:00+00:00", 6 * 24 + 1],
    ["2026-06-01T12:00:00Z", "Asia/Kolkata", "2026-06-01T17:30:00+05:30", 17],
    ["2026-06-01T12:00:00Z", "Australia/Lord_Howe", "2026-06-01T22:30:00+10:30", 22],
    ["2026-06-01T23:00:00Z", "UTC", "2026-06-01T23:00:00+00:00", 23],
  ])("%s in %s is %s (hour of week %d)", (utc, tz, iso, how) => {
    const at = Date.parse(utc);
    expect(isoWithOffset(at, tz)).toBe(iso);
    expect(Date.parse(isoWithOffset(at, tz))).toBe(at);
    expect(localHourOfWeek(at, tz)).toBe(how);
  });

  it("a spring-forward day has no 02:00 slot; a fall-back day has 01:00 twice", () => {
    const spring = hourSlots(Date.parse("2026-03-08T05:00:00Z"), Date.parse("2026-03-09T05:00:00Z"), "America/New_York");
    expect(spring.map((s) => localTime(s.at, "America/New_York").hour)).toEqual([1, ...Array.from({ length: 21 }, (_, i) => i + 3), 0, 1]);
    // 24 UTC hours hold 23 local hours + the next day's 01:00 EDT; the ISO offsets switch at 03:00.
    expect(isoWithOffset(spring[1]!.at, "America/New_York")).toBe("2026-03-08T03:00:00-04:00");
    const fall = hourSlots(Date.parse("2026-10-24T23:00:00Z"), Date.parse("2026-10-25T04:00:00Z"), "Europe/London");
    expect(fall.map((s) => s.hour)).toEqual([1, 1, 2, 3, 4]);
    expect(fall.map((s) => isoWithOffset(s.at, "Europe/London"))).toEqual(["2026-10-25T01:00:00+01:00", "2026-10-25T01:00:00+00:00", "2026-10-25T02:00:00+00:00", "2026-10-25T03:00:00+00:00", "2026-10-25T04:00:00+00:00"]);
  });
});

describe("send-time estimator (Beta-binomial shrinkage)", () => {
  it("matches hand-computed posterior means", () => {
    // Customer: 4 sends, 3 engaged at Monday 19:00 (hour of week 19); population rate 0.2 at 19:00; κ = 8.
    // Hour-of-day level: (3 + 8·0.2) / (4 + 8) = 4.6/12 = 0.383333…
    // Monday 19:00:      (3 + 8·0.383333) / (4 + 8) = 6.066667/12 = 0.505556…
    const c = emptyCounts();
    c.sends[19] = 4;
    c.engaged[19] = 3;
    const population = Array.from({ length: 24 }, (_, h) => (h === 19 ? 0.2 : 0.1));
    const rates = smoothedRates(c, population, 8);
    expect(rates[19]).toBeCloseTo(6.066667 / 12, 6);
    expect(rates[24 + 19]).toBeCloseTo(4.6 / 12, 6);
    expect(rates[10]).toBeCloseTo(0.1, 12);
    // κ = 0: the raw rate where there are sends.
    expect(smoothedRates(c, population, 0)[19]).toBe(0.75);
  });

  it.each([
    // X² = 3, 3, 1/3, 1/3 → Σ(X² − 1) = 8/3; Σ(s − 1) = 8 → ρ = 1/3 → κ = 2.
    [[{ sends: 3, engaged: 3, mean: 0.5 }, { sends: 3, engaged: 0, mean: 0.5 }, { sends: 3, engaged: 1, mean: 0.5 }, { sends: 3, engaged: 2, mean: 0.5 }], 2],
    // Under-dispersed (X² = 0): ρ clipped to 1e-4 → κ = 9999.
    [[{ sends: 4, engaged: 2, mean: 0.5 }], 9999],
    // Cells with one send carry no information.
    [[{ sends: 1, engaged: 1, mean: 0.5 }], Infinity],
  ])("estimatePriorStrength(%j) = %d", (cells, kappa) => {
    expect(estimatePriorStrength(cells)).toBeCloseTo(kappa, 6);
  });

  it("chooses the best allowed hour, the fallback when thin, and explores with logged propensity", () => {
    const slots = [9, 10, 11, 19].map((hour, i) => ({ at: i * H, hour, hourOfWeek: hour }));
    const rates = Array.from({ length: 168 }, (_, w) => (w === 19 ? 0.4 : w === 9 ? 0.3 : 0.1));
    expect(chooseSendTime({ slots, rates, thin: false, fallbackHour: 10, epsilon: 0, seed: "d", salt: "s" })).toMatchObject({ method: "best", propensity: 1, slot: { hour: 19 } });
    expect(chooseSendTime({ slots, rates, thin: true, fallbackHour: 10, epsilon: 0, seed: "d", salt: "s" })).toMatchObject({ method: "fallback", slot: { hour: 10 } });
    expect(chooseSendTime({ slots, rates, thin: true, fallbackHour: 12, epsilon: 0, seed: "d", salt: "s" }).slot.hour).toBe(19);
    const choices = Array.from({ length: 2000 }, (_, i) => chooseSendTime({ slots, rates, thin: false, fallbackHour: 10, epsilon: 0.2, seed: `d${i}`, salt: "s" }));
    // Greedy: 0.8 + 0.2/4 = 0.85; each other hour 0.05.
    expect(new Set(choices.filter((c) => c.slot.hour === 19).map((c) => +c.propensity.toFixed(12)))).toEqual(new Set([0.85]));
    expect(new Set(choices.filter((c) => c.slot.hour !== 19).map((c) => +c.propensity.toFixed(12)))).toEqual(new Set([0.05]));
    expect(choices.filter((c) => c.method === "explored").length / choices.length).toBeCloseTo(0.15, 1);
    // Same seed, same choice.
    expect(chooseSendTime({ slots, rates, thin: false, fallbackHour: 10, epsilon: 0.2, seed: "d7", salt: "s" })).toEqual(choices[7]);
  });
});
