// The send-time simulation's headline (scripts/simulate-send-time.ts, README "Next action"):
// seeded and deterministic, so the printed numbers are asserted exactly.
import { describe, expect, it } from "vitest";
import { simulateSendTime } from "../../scripts/simulate-send-time.ts";

describe("send-time simulation (2,000 customers, 8 weeks)", () => {
  it("finds the true best hour for most customers with enough data and beats a fixed-hour schedule", () => {
    const r = simulateSendTime();
    expect(r.enoughData).toBe(2000);
    // Chance among the 13 allowed hours would be 1/13 ≈ 7.7% (±1 h: ≈ 23%).
    expect(r.bestHourShare).toBeCloseTo(0.384, 3);
    expect(r.withinOneHourShare).toBeCloseTo(0.739, 3);
    expect(r.bestHourShare).toBeGreaterThan(0.3);
    expect(r.withinOneHourShare).toBeGreaterThan(0.65);
    // Engagement over weeks 5–8: about twice the fixed 10:00 schedule's.
    expect(r.optimised.last4).toBeCloseTo(0.16, 2);
    expect(r.fixedHour.last4).toBeCloseTo(0.08, 2);
    expect(r.optimised.last4 / r.fixedHour.last4).toBeGreaterThan(1.5);
    expect(r.optimised.all).toBeGreaterThan(r.fixedHour.all);
  });
});
