/**
 * Drift statistics against SciPy/NumPy reference values (test/fixtures/drift/reference.json, made
 * by test/fixtures/drift/make_reference.py), and the false-alarm rate of the PSI rule with no
 * shift over many seeds (reported in README, "Drift monitoring").
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { scoreBucket } from "../../worker/aggregates/drift.ts";
import { binOfValue, histogramOf } from "../../worker/drift/baseline.ts";
import { binomialTest, calibrationDrift, jensenShannon, psi } from "../../worker/drift/metrics.ts";
import { falseAlarms } from "./drift-false-alarms.ts";

interface Reference {
  psiJs: { expected: number[]; actual: number[]; psi: number; js: number }[];
  binomial: { x: number; n: number; p0: number; pValue: number }[];
  histograms: { name: string; values: number[]; edges: number[]; counts: number[] }[];
}
const ref: Reference = JSON.parse(readFileSync(new URL("../fixtures/drift/reference.json", import.meta.url), "utf8"));

describe("PSI and Jensen–Shannon distance vs SciPy", () => {
  it.each(ref.psiJs.map((r, i) => [i, r] as const))("pair %i", (_i, r) => {
    expect(psi(r.expected, r.actual)).toBeCloseTo(r.psi, 10);
    expect(jensenShannon(r.expected, r.actual)).toBeCloseTo(r.js, 10);
  });
  it("refuses histograms over different bins", () => {
    expect(() => psi([1, 2], [1, 2, 3])).toThrow(RangeError);
  });
});

describe("exact binomial test vs scipy.stats.binomtest", () => {
  it.each(ref.binomial.map((r) => [r.x, r.n, r.p0, r.pValue] as const))("x=%i n=%i p0=%f", (x, n, p0, p) => {
    const ours = binomialTest(x, n, p0);
    if (p < 1e-12) expect(ours).toBeLessThan(1e-11);
    else expect(Math.abs(ours - p) / p).toBeLessThan(1e-7);
  });
});

describe("training histograms vs numpy.quantile + numpy.histogram", () => {
  it.each(ref.histograms.map((h) => [h.name, h] as const))("%s", (_n, h) => {
    const ours = histogramOf(h.values);
    expect(ours.kind).toBe("numeric");
    if (ours.kind !== "numeric") return;
    expect(ours.edges.length).toBe(h.edges.length);
    ours.edges.forEach((e, i) => expect(e).toBeCloseTo(h.edges[i]!, 9));
    const total = h.counts.reduce((a, b) => a + b, 0);
    ours.proportions.forEach((p, i) => expect(p).toBeCloseTo(h.counts[i]! / total, 5));
    // Serving values outside the training range fall in the outer bins.
    expect(binOfValue({ kind: "numeric", edges: ours.edges }, -1e9)).toBe(0);
    expect(binOfValue({ kind: "numeric", edges: ours.edges }, 1e9)).toBe(ours.edges.length - 2);
  });
  it("few distinct values make a categorical histogram with an other bin", () => {
    const h = histogramOf([0, 0, 0, 1]);
    expect(h).toEqual({ kind: "categorical", values: [0, 1], proportions: [0.75, 0.25] });
    expect(binOfValue({ kind: "categorical", values: [0, 1] }, Math.fround(1))).toBe(1);
    expect(binOfValue({ kind: "categorical", values: [0, 1] }, 0.5)).toBe(2);
  });
  it.each([0.7, 0.9, 0.3, 0.1, 1.5])("bins %f as the float32 the model saw, whether logged short or widened", (v) => {
    // The audit log writes the float32 of 0.7 as 0.7 (worker/audit/float32.ts); it is 0.699999988…,
    // below the default edge 0.7, as logged before the short form.
    const widened = Math.fround(v);
    expect(binOfValue({ kind: "default" }, v)).toBe(binOfValue({ kind: "default" }, widened));
    expect(binOfValue({ kind: "numeric", edges: [0, v, 2] }, v)).toBe(binOfValue({ kind: "numeric", edges: [0, v, 2] }, widened));
  });
});

describe("calibration drift", () => {
  it("matches a hand-computed ECE and Hosmer–Lemeshow statistic", () => {
    const d = calibrationDrift([
      { bin: 0, n: 100, sumP: 5, positives: 10 },
      { bin: 5, n: 100, sumP: 50, positives: 50 },
    ]);
    expect(d.ece).toBeCloseTo(0.5 * 0.05, 12);
    // (10 − 5)² / (5 · 0.95) = 5.263157…; the second bin contributes 0; df = 2 bins.
    expect(d.hosmerLemeshow).toBeCloseTo(25 / 4.75, 12);
    expect(d.df).toBe(2);
    expect(d.pValue).toBeCloseTo(Math.exp(-(25 / 4.75) / 2), 12); // chi-square, 2 df: e^(−x/2)
  });
});

describe("no shift: false alarms of the PSI rule over many seeds", () => {
  it("stays rare at the default thresholds with 1,000 decisions a day", () => {
    const r = falseAlarms({ seeds: 100, days: 30, decisionsPerDay: 1000 });
    // Reported in README; the alert threshold (0.25) is never crossed without a shift.
    expect(r.alertRuns).toBe(0);
    expect(r.warnRate).toBeLessThan(0.05);
  });
});

describe("scoreBucket bins a logged score as the float32 served", () => {
  it.each([
    [0.9, 17], // served 0.8999999761581421, logged 0.9
    [0.95, 18], // served 0.949999988079071
    [0.35, 6], // served 0.3499999940395355
    [0.3, 6], // served 0.30000001192092896
    [0.5, 10],
    [0, 0],
    [1, 19],
    [-0.1, -1],
    [1.5, 20],
  ])("%s → bucket %s", (logged, bucket) => {
    expect(scoreBucket(logged)).toBe(bucket);
    expect(scoreBucket(Math.fround(logged))).toBe(bucket); // as a widened float32 was logged before
  });
});
