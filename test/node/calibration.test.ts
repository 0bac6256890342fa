import { describe, expect, it } from "vitest";
import { mulberry32 } from "../../models/prng.ts";
import { calibrator, fitIsotonic, fitPlatt } from "../../worker/calibration/fit.ts";
import { auc, binOf, calibrationMetrics, reliabilityCurve, verdict, type Labelled } from "../../worker/calibration/metrics.ts";

const pairs = (y: number[], p: number[]): Labelled[] => y.map((v, i) => ({ y: v as 0 | 1, p: p[i]! }));
const logit = (p: number) => Math.log(p / (1 - p));
const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

describe("calibration metrics against published reference values", () => {
  // sklearn.metrics documentation examples (values printed there, not computed by our code).
  it("AUC: roc_auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) = 0.75", () => {
    expect(auc(pairs([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]))).toBeCloseTo(0.75, 12);
  });
  it("Brier: brier_score_loss([0, 1, 1, 0], [0.1, 0.9, 0.8, 0.3]) = 0.0375", () => {
    expect(calibrationMetrics(pairs([0, 1, 1, 0], [0.1, 0.9, 0.8, 0.3])).brier).toBeCloseTo(0.0375, 12);
  });
  it("log-loss: log_loss(['spam','ham','ham','spam'], …) = 0.21616…", () => {
    expect(calibrationMetrics(pairs([1, 0, 0, 1], [0.9, 0.1, 0.2, 0.65])).logLoss).toBeCloseTo(0.21616187468057912, 12);
  });
  it.each([
    // Hand-computed: ties count ½ (one positive tied with one negative of two negatives).
    { y: [0, 1, 0], p: [0.5, 0.5, 0.2], expected: 0.75 },
    { y: [1, 1, 0, 0], p: [0.9, 0.8, 0.2, 0.1], expected: 1 },
    { y: [1, 1, 0, 0], p: [0.1, 0.2, 0.8, 0.9], expected: 0 },
    { y: [1, 1], p: [0.1, 0.2], expected: null },
  ])("AUC of $p for $y is $expected", ({ y, p, expected }) => {
    expect(auc(pairs(y, p))).toBe(expected);
  });
  it("ECE and the reliability bins, hand-computed", () => {
    // Bin 1 ([0.1, 0.2)): p 0.1, 0.1, y 0, 1 → gap |0.5 − 0.1| = 0.4, weight 2/4.
    // Bin 9 ([0.9, 1]): p 0.9, 1.0 (1 is in the last bin), y 1, 1 → gap |1 − 0.95| = 0.05, weight 2/4.
    const m = calibrationMetrics(pairs([0, 1, 1, 1], [0.1, 0.1, 0.9, 1]));
    expect(m.ece).toBeCloseTo(0.5 * 0.4 + 0.5 * 0.05, 12);
    expect(m.mce).toBeCloseTo(0.4, 12);
    expect(m.bins[1]).toMatchObject({ count: 2, positives: 1, observedRate: 0.5 });
    expect(m.bins[9]).toMatchObject({ count: 2, positives: 2, observedRate: 1 });
    expect(m.bins[9]!.meanPredicted).toBeCloseTo(0.95, 12);
    expect(m.bins.filter((b) => b.count === 0)).toHaveLength(8);
    expect([binOf(0), binOf(0.0999), binOf(0.1), binOf(1), binOf(-1), binOf(2)]).toEqual([0, 0, 1, 9, 0, 9]);
  });
  it("verdict: bad above ECE 0.05 with enough data", () => {
    expect(verdict({ n: 1000, ece: 0.06 })).toBe("bad");
    expect(verdict({ n: 1000, ece: 0.04 })).toBe("good");
    expect(verdict({ n: 50, ece: 0.5 })).toBe("insufficient_data");
  });
});

describe("calibration maps", () => {
  it.each([
    // Hand-computed PAV: violators pool into their mean.
    { p: [0.1, 0.2, 0.3, 0.4, 0.5], y: [0, 1, 0, 1, 1], x: [0.1, 0.2, 0.4], v: [0, 0.5, 1] },
    { p: [0.1, 0.2, 0.3], y: [1, 0, 0], x: [0.1], v: [1 / 3] },
    { p: [0.1, 0.1, 0.2], y: [1, 0, 1], x: [0.1, 0.2], v: [0.5, 1] },
  ])("isotonic (PAV) of $y at $p", ({ p, y, x, v }) => {
    const map = fitIsotonic(pairs(y, p));
    expect(map.x).toEqual(x);
    map.y.forEach((value, i) => expect(value).toBeCloseTo(v[i]!, 12));
    const f = calibrator(map);
    expect(f(0)).toBeCloseTo(v[0]!, 12);
    expect(f(1)).toBeCloseTo(v.at(-1)!, 12);
  });

  it("isotonic: a served float32 score falls in the block fitted at its logged (shortest) decimal", () => {
    // Logged as 0.4749527 (worker/audit/float32.ts), served as the float32 0.47495269775390625,
    // which is below its decimal: compared as doubles it fell into the block below.
    const served = Math.fround(0.4749527);
    expect(served).toBeLessThan(0.4749527);
    const flags = (ones: number) => Array.from({ length: 10 }, (_, i) => (i < ones ? 1 : 0));
    const map = fitIsotonic([...pairs(flags(1), Array(10).fill(0.4749527 / 2)), ...pairs(flags(6), Array(10).fill(0.4749527))]);
    expect(map.x).toEqual([0.4749527 / 2, 0.4749527]);
    expect(calibrator(map)(served)).toBeCloseTo(0.6, 12);
    expect(calibrator(map)(Math.fround(0.4749527 / 2))).toBeCloseTo(0.1, 12);
  });

  it("Platt: the fit satisfies the likelihood equations with Platt's smoothed targets", () => {
    const rng = mulberry32(7);
    const data: Labelled[] = Array.from({ length: 2000 }, () => {
      const p = 0.05 + 0.5 * rng();
      return { p, y: rng() < sigmoid(0.7 * logit(p) - 0.4) ? 1 : 0 };
    });
    const { a, b } = fitPlatt(data);
    const nPos = data.filter((d) => d.y).length;
    const t = (y: number) => (y ? (nPos + 1) / (nPos + 2) : 1 / (data.length - nPos + 2));
    let g1 = 0, g2 = 0;
    for (const d of data) {
      const q = sigmoid(a * logit(d.p) + b);
      g1 += logit(d.p) * (q - t(d.y));
      g2 += q - t(d.y);
    }
    expect(Math.abs(g1)).toBeLessThan(1e-6);
    expect(Math.abs(g2)).toBeLessThan(1e-6);
    expect(a).toBeCloseTo(0.7, 0);
    expect(b).toBeCloseTo(-0.4, 0);
  });
});

/**
 * A model that says 0.2 where the truth is 0.1: its logit is the true logit + ln 2.25
 * (logit 0.2 − logit 0.1), across predictions from 0.02 to 0.6.
 */
function miscalibrated(seed: number, n: number): Array<Labelled & { truth: number }> {
  const rng = mulberry32(seed);
  const shift = logit(0.2) - logit(0.1);
  return Array.from({ length: n }, () => {
    const p = 0.02 + 0.58 * rng();
    const truth = sigmoid(logit(p) - shift);
    return { p, truth, y: rng() < truth ? 1 : 0 };
  });
}

describe("simulated miscalibration (issue 14)", () => {
  const train = miscalibrated(1, 60_000);
  const test = miscalibrated(2, 60_000);

  it("the reliability bins match the simulation: observed rate per bin = mean truth of the bin", () => {
    const curve = reliabilityCurve(test);
    for (const bin of curve) {
      if (!bin.count) continue;
      const inBin = test.filter((d) => binOf(d.p) === curve.indexOf(bin));
      const truth = inBin.reduce((s, d) => s + d.truth, 0) / inBin.length;
      const se = Math.sqrt((truth * (1 - truth)) / bin.count);
      expect(Math.abs(bin.observedRate! - truth)).toBeLessThan(4 * se + 1e-9);
    }
    // The model's 0.2 bin holds ≈ 0.1 clicks.
    expect(curve[2]!.observedRate!).toBeGreaterThan(0.1);
    expect(curve[2]!.observedRate!).toBeLessThan(0.14);
    const before = calibrationMetrics(test);
    expect(before.ece).toBeGreaterThan(0.05);
    expect(verdict(before)).toBe("bad");
  });

  it.each(["platt", "isotonic"] as const)("ECE < 0.01 after %s calibration, on held-out data", (method) => {
    const map = method === "platt" ? fitPlatt(train) : fitIsotonic(train);
    const f = calibrator(map);
    const after = calibrationMetrics(test.map((d) => ({ p: f(d.p), y: d.y })));
    expect(after.ece).toBeLessThan(0.01);
    expect(f(0.2)).toBeGreaterThan(0.085);
    expect(f(0.2)).toBeLessThan(0.115);
    if (map.method === "platt") {
      expect(map.a).toBeCloseTo(1, 1);
      expect(map.b).toBeCloseTo(-(logit(0.2) - logit(0.1)), 1);
    }
  });
});
