import { describe, expect, it } from "vitest";
import { liftReport } from "../../worker/reports/lift.ts";
import { mulberry32, simulateExperiment, type ExperimentDesign } from "./simulate.ts";

const design: ExperimentDesign = { visitors: 20_000, controlShare: 0.1, pControl: 0.05, pTreatment: 0.06, orderValue: 50, controlLoss: 0 };
const truth = {
  absolute: design.pTreatment - design.pControl,
  relative: design.pTreatment / design.pControl - 1,
  revenuePerVisitor: (design.pTreatment - design.pControl) * design.orderValue,
};

function run(experiments: number, d: ExperimentDesign, seed: number, srmAlpha?: number) {
  const rng = mulberry32(seed);
  return Array.from({ length: experiments }, () => {
    const { treatment, control } = simulateExperiment(rng, d);
    return liftReport(treatment, control, { expectedControlShare: 0.1, srmAlpha });
  });
}

const share = <T>(xs: T[], f: (x: T) => boolean) => xs.filter(f).length / xs.length;
const covers = (i: { low: number | null; high: number | null }, v: number) => i.low !== null && i.high !== null && i.low <= v && v <= i.high;

describe("lift report on 500 simulated experiments with a known true lift", () => {
  const reports = run(500, design, 20251125);

  it("95% intervals cover the true lift between 93% and 97% of the time", () => {
    const absolute = share(reports, (r) => covers(r.lift.absolute, truth.absolute));
    const relative = share(reports, (r) => covers(r.lift.relative, truth.relative));
    const revenue = share(reports, (r) => covers(r.revenuePerVisitorLift.absolute, truth.revenuePerVisitor));
    console.log(`coverage over 500 experiments: absolute ${absolute}, relative ${relative}, revenue/visitor ${revenue}`);
    for (const c of [absolute, relative, revenue]) {
      expect(c).toBeGreaterThanOrEqual(0.93);
      expect(c).toBeLessThanOrEqual(0.97);
    }
  });

  it("raises no SRM alarm when the split is right (false alarms at most at the configured rate)", () => {
    // α = 0.001: expected 0.5 false alarms in 500; 3 or more would happen with probability 1.4%.
    expect(reports.filter((r) => r.srm.mismatch).length).toBeLessThanOrEqual(2);
  });
});

describe("sample-ratio mismatch on simulated experiments", () => {
  it("false alarms happen at the configured alpha when the split is right", () => {
    // With α = 0.05 the alarm must ring in about 5% of 2,000 correct experiments (±1.5 points ≈ 3 sd).
    const reports = run(2000, { ...design, visitors: 5000 }, 7, 0.05);
    const rate = share(reports, (r) => r.srm.mismatch);
    console.log(`SRM false-alarm rate at alpha 0.05: ${rate}`);
    expect(Math.abs(rate - 0.05)).toBeLessThan(0.015);
  });

  it.each([
    // At α = 0.001 these breaks are found with ~99% power in experiments of 50k visitors.
    { name: "10% of control visitors lost", d: { ...design, visitors: 50_000, controlLoss: 0.1 } },
    { name: "11% assigned to control instead of 10%", d: { ...design, visitors: 50_000, controlShare: 0.11 } },
  ])("flags a broken split: $name", ({ d }) => {
    const reports = run(200, d, 99);
    const rate = share(reports, (r) => r.srm.mismatch);
    console.log(`SRM detection (${d.controlLoss ? "loss" : "share"}): ${rate}`);
    expect(rate).toBeGreaterThanOrEqual(0.95);
    expect(reports.find((r) => r.srm.mismatch)!.warnings.map((w) => w.code)).toContain("sample_ratio_mismatch");
  });
});

describe("warnings", () => {
  it("warns when samples are too small to conclude", () => {
    const [r] = run(1, { ...design, visitors: 300 }, 3);
    expect(r!.warnings.map((w) => w.code)).toContain("small_sample");
  });

  it("says how large a lift could have been seen when none was found", () => {
    const [r] = run(1, { ...design, visitors: 4000, pTreatment: 0.05 }, 5);
    if (!r!.lift.significant) {
      const w = r!.warnings.find((x) => x.code === "underpowered");
      expect(w?.message).toMatch(/beyond ±\d/);
    }
    expect(r!.minimumDetectableLift).toBeGreaterThan(0);
  });

  it("p-values are uniform under no effect: about 5% below 0.05", () => {
    const reports = run(1000, { ...design, visitors: 5000, pTreatment: design.pControl }, 11);
    const rate = share(reports, (r) => (r.lift.pValue ?? 1) < 0.05);
    console.log(`false positive rate at 0.05: ${rate}`);
    expect(Math.abs(rate - 0.05)).toBeLessThan(0.02);
  });
});
