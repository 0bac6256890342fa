import { describe, expect, it } from "vitest";
import { chiSquareSf, normalCdf, normalQuantile, twoSidedP, zCritical } from "../../worker/stats/distributions.ts";
import { compareMeans, meanInterval } from "../../worker/stats/means.ts";
import { compareProportions, minimumDetectableLift, wilson } from "../../worker/stats/proportions.ts";
import { chiSquareGoodnessOfFit, srmCheck } from "../../worker/stats/srm.ts";

// Reference values from SciPy 1.17 / Python's statistics.NormalDist.
describe("distributions", () => {
  it.each([
    { z: 0, p: 0.5 },
    { z: 1.96, p: 0.9750021048517796 },
    { z: -3, p: 0.0013498980316301035 },
    { z: -8.5, p: 9.479534822203355e-18 },
  ])("Φ($z) = $p", ({ z, p }) => {
    expect(normalCdf(z) / p).toBeCloseTo(1, 12);
  });

  it.each([
    { p: 0.975, z: 1.9599639845400536 },
    { p: 0.5, z: 0 },
    { p: 0.001, z: -3.090232306167813 },
    { p: 1e-10, z: -6.361340902404056 },
  ])("Φ⁻¹($p) = $z", ({ p, z }) => {
    expect(normalQuantile(p)).toBeCloseTo(z, 12);
  });

  it.each([
    { x: 3.841458820694124, df: 1, p: 0.05 },
    { x: 5.991464547107979, df: 2, p: 0.05 },
    { x: 18.307038053275146, df: 10, p: 0.05 },
    { x: 100, df: 3, p: 1.5541594313896026e-21 },
    { x: 0.5, df: 7, p: 0.9994464813904249 },
  ])("chi-square sf($x, df $df) = $p", ({ x, df, p }) => {
    expect(chiSquareSf(x, df) / p).toBeCloseTo(1, 10);
  });

  it("gives the usual critical values and two-sided p-values", () => {
    expect(zCritical(0.95)).toBeCloseTo(1.959963984540054, 12);
    expect(twoSidedP(1.959963984540054)).toBeCloseTo(0.05, 12);
    expect(twoSidedP(Infinity)).toBe(0);
  });
});

describe("proportions", () => {
  it.each([
    { x: 5, n: 10, low: 0.236593090512564, high: 0.7634069094874361 },
    { x: 0, n: 20, low: 0, high: 0.16112515805281938 },
    { x: 56, n: 70, low: 0.6918335550374695, high: 0.8769526075163705 },
  ])("Wilson interval of $x/$n", ({ x, n, low, high }) => {
    const w = wilson({ n, x });
    expect(w.low).toBeCloseTo(low, 12);
    expect(w.high).toBeCloseTo(high, 12);
  });

  it("matches Newcombe's worked example (56/70 vs 48/80: 0.0524 to 0.3339)", () => {
    const c = compareProportions({ n: 70, x: 56 }, { n: 80, x: 48 });
    expect(c.absoluteLift.estimate).toBeCloseTo(0.2, 12);
    expect(c.absoluteLift.low).toBeCloseTo(0.05243147240236501, 12);
    expect(c.absoluteLift.high).toBeCloseTo(0.333872654036906, 12);
    expect(c.pValue).toBeCloseTo(0.00804508136819658, 12);
    expect(c.relativeLift.estimate).toBeCloseTo(1 / 3, 12);
    expect(c.relativeLift.low).toBeCloseTo(0.07662642276319298, 12);
    expect(c.relativeLift.high).toBeCloseTo(0.651248511266387, 12);
  });

  it.each([
    { name: "empty groups", t: { n: 0, x: 0 }, c: { n: 0, x: 0 }, pValue: null },
    { name: "no conversions anywhere", t: { n: 100, x: 0 }, c: { n: 100, x: 0 }, pValue: 1 },
  ])("handles $name", ({ t, c, pValue }) => {
    const r = compareProportions(t, c);
    expect(r.pValue).toBe(pValue);
    expect(r.relativeLift.low).toBeNull();
  });

  it("gives the minimum detectable lift of a textbook design", () => {
    // 80% power, α = 0.05, p = 0.1, 3,841 per group ≈ MDE of 0.02 (2.8016 · √(0.09 · 2/n)).
    expect(minimumDetectableLift(3841, 3841, 0.1)).toBeCloseTo(2.8015852 * Math.sqrt((0.09 * 2) / 3841), 6);
  });

  it.each([
    ["no conversions in the control yet", 1000, 1000, 0],
    ["every control visitor converted", 1000, 1000, 1],
    ["an empty treatment group", 0, 1000, 0.1],
    ["an empty control group", 1000, 0, 0.1],
  ])("states no minimum detectable lift for %s", (_, nt, nc, rate) => {
    expect(minimumDetectableLift(nt, nc, rate)).toBeNull();
  });
});

describe("means", () => {
  it("computes a mean and a Welch difference from running sums", () => {
    const a = [0, 0, 10, 20, 0];
    const b = [0, 5, 0, 0];
    const m = (xs: number[]) => ({ n: xs.length, sum: xs.reduce((s, x) => s + x, 0), sumSquares: xs.reduce((s, x) => s + x * x, 0) });
    const mean = meanInterval(m(a));
    expect(mean.estimate).toBe(6);
    // Σx = 30, Σx² = 500: variance (500 − 30²/5) / 4 = 80; b: (25 − 5²/4) / 3 = 6.25.
    expect(mean.high! - 6).toBeCloseTo(1.959963984540054 * Math.sqrt(80 / 5), 10);
    const d = compareMeans(m(a), m(b));
    expect(d.difference.estimate).toBeCloseTo(6 - 1.25, 12);
    expect(d.difference.high! - d.difference.estimate!).toBeCloseTo(1.959963984540054 * Math.sqrt(80 / 5 + 6.25 / 4), 10);
  });
});

describe("sample-ratio mismatch", () => {
  it("matches SciPy's chisquare", () => {
    const r = chiSquareGoodnessOfFit([480, 520], [0.5, 0.5]);
    expect(r.statistic).toBeCloseTo(1.6, 12);
    expect(r.pValue).toBeCloseTo(0.20590321073206466, 12);
  });

  it.each([
    { name: "on target", t: 9500, c: 500, share: 0.05, mismatch: false },
    { name: "control too large", t: 9300, c: 700, share: 0.05, mismatch: true },
    { name: "control empty but configured", t: 10000, c: 0, share: 0.05, mismatch: true },
    { name: "control present but rate 0", t: 100, c: 3, share: 0, mismatch: true },
    { name: "no traffic", t: 0, c: 0, share: 0.05, mismatch: false },
  ])("$name → mismatch $mismatch", ({ t, c, share, mismatch }) => {
    expect(srmCheck(t, c, share).mismatch).toBe(mismatch);
  });
});
