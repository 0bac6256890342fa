import { describe, expect, it } from "vitest";
import { mulberry32 } from "../../models/prng.ts";
import type { FatigueCell } from "../../worker/reports/content-query.ts";
import { fatigueOf } from "../../worker/reports/fatigue.ts";
import { wilson } from "../../worker/stats/proportions.ts";
import { cochranArmitage } from "../../worker/stats/trend.ts";

const groups = (x: number[], n: number[]) => x.map((xi, i) => ({ x: xi, n: n[i]! }));

describe("Cochran–Armitage test for trend against published values", () => {
  // Each from a source computed independently of this code (other software or a textbook).
  it.each([
    {
      source: "R stats::prop.trend.test example (smokers/patients): X-squared = 8.2249, p = 0.004132",
      x: [83, 90, 129, 70], n: [86, 93, 136, 82], scores: [1, 2, 3, 4], chi2: 8.2249, p: 0.004132,
    },
    {
      source: "DescTools::CochranArmitageTest, insomnia by age class (msph-p8120 notes): Z = 11.297",
      x: [150, 250, 264, 302, 238, 176], n: [534, 746, 784, 705, 443, 299], scores: [1, 2, 3, 4, 5, 6], z: 11.297,
    },
    {
      source: "SAS PROC FREQ documentation, Example 'Cochran-Armitage Trend Test' (Pain data): |Z| = 4.7918",
      x: [6, 7, 9, 14, 23], n: [32, 33, 32, 32, 32], scores: [0, 1, 2, 3, 4], z: 4.7918,
    },
    {
      source: "Agresti, Categorical Data Analysis (2002), infant malformation by alcohol, scores 0,.5,1.5,4,7: M² = 6.57 (P = 0.01)",
      x: [48, 38, 5, 1, 1], n: [17114, 14502, 793, 127, 38], scores: [0, 0.5, 1.5, 4, 7], chi2: 6.57, p: 0.0104,
    },
    {
      source: "Agresti (2002), same data, scores 1..5: M² = 1.83 (P = 0.18)",
      x: [48, 38, 5, 1, 1], n: [17114, 14502, 793, 127, 38], scores: [1, 2, 3, 4, 5], chi2: 1.83, p: 0.18,
    },
  ])("$source", ({ x, n, scores, chi2, p, z }) => {
    const t = cochranArmitage(groups(x, n), scores)!;
    // To the digits the source prints.
    if (chi2 !== undefined) expect(t.z * t.z).toBeCloseTo(chi2, String(chi2).split(".")[1]!.length);
    if (p !== undefined) expect(t.pValue).toBeCloseTo(p, p < 0.01 ? 6 : 2);
    if (z !== undefined) expect(Math.abs(t.z)).toBeCloseTo(z, 3);
  });

  it("is undefined without variation and one-sided p follows the sign", () => {
    expect(cochranArmitage(groups([0, 0], [10, 10]))).toBeNull();
    expect(cochranArmitage(groups([10, 10], [10, 10]))).toBeNull();
    expect(cochranArmitage(groups([5], [10]))).toBeNull();
    const falling = cochranArmitage(groups([30, 20, 10], [100, 100, 100]))!;
    expect(falling.z).toBeLessThan(0);
    expect(falling.pDecreasing).toBeCloseTo(falling.pValue / 2, 12);
  });
});

describe("Wilson score interval against Newcombe (1998), Table I, method 3", () => {
  it.each([
    { x: 81, n: 263, low: 0.2553, high: 0.3662 },
    { x: 15, n: 148, low: 0.0624, high: 0.1605 },
    { x: 0, n: 20, low: 0, high: 0.1611 },
    { x: 1, n: 29, low: 0.0061, high: 0.1718 },
  ])("$x/$n: $low to $high", ({ x, n, low, high }) => {
    const w = wilson({ x, n });
    expect(w.low).toBeCloseTo(low, 4);
    expect(w.high).toBeCloseTo(high, 4);
  });
});

/**
 * A block's fatigue cells from simulated visitors: each sees the block 1–4 times over `weeks`
 * weeks, every view is an impression, and the k-th view is clicked with probability `rate(k, week)`.
 */
function simulate(seed: number, visitors: number, rate: (view: number, week: number) => number, weeks = 4): FatigueCell[] {
  const rnd = mulberry32(seed);
  const cells = new Map<string, FatigueCell>();
  for (let v = 0; v < visitors; v++) {
    const views = 1 + Math.floor(rnd() * 4);
    const week = Math.floor(rnd() * weeks);
    for (let k = 1; k <= views; k++) {
      const key = `${week}:${k}`;
      const cell = cells.get(key) ?? { blockId: "b", week, exposure: k, decisions: 0, impressions: 0, clicks: 0 };
      cell.decisions++;
      cell.impressions++;
      if (rnd() < rate(k, week)) cell.clicks++;
      cells.set(key, cell);
    }
  }
  return [...cells.values()];
}

const OPTIONS = { alpha: 0.01, minImpressions: 100, confidence: 0.95, from: Date.UTC(2026, 0, 5) };

describe("fatigue on simulated data with a known truth", () => {
  it("a click rate that decays with repeat views is flagged (5% → 3.5% → 2.5% → 2%)", () => {
    const decay = [0, 0.05, 0.035, 0.025, 0.02];
    const f = fatigueOf(simulate(1, 6000, (k) => decay[k]!), OPTIONS);
    expect(f.flagged).toBe(true);
    expect(f.reasons).toContain("falls_with_repeat_views");
    expect(f.viewTrend!.z).toBeLessThan(-3);
    expect(f.byViews[0]!.clickRate.estimate!).toBeGreaterThan(f.byViews[2]!.clickRate.estimate!);
    expect(f.repeatVsFirst.absolute.high!).toBeLessThan(0);
  });

  it("a click rate that decays week after week is flagged", () => {
    const f = fatigueOf(simulate(2, 6000, (_, week) => 0.06 - 0.01 * week), OPTIONS);
    expect(f.reasons).toContain("falls_over_weeks");
    expect(f.weeks.map((w) => w.from)).toEqual(["2026-01-05", "2026-01-12", "2026-01-19", "2026-01-26"]);
  });

  it.each([11, 12, 13, 14, 15, 16, 17, 18, 19, 20])("without decay nothing is flagged (seed %i)", (seed) => {
    const f = fatigueOf(simulate(seed, 6000, () => 0.04), OPTIONS);
    expect(f.flagged).toBe(false);
    expect(f.reasons).toEqual([]);
  });

  it("a rising click rate is not fatigue, and too little data is never flagged", () => {
    expect(fatigueOf(simulate(3, 6000, (k) => 0.02 * k), OPTIONS).flagged).toBe(false);
    const decay = [0, 0.5, 0.2, 0.1, 0.05];
    const small = fatigueOf(simulate(4, 40, (k) => decay[k]!), OPTIONS);
    expect(small.viewTrend!.pDecreasing).toBeLessThan(0.005);
    expect(small.flagged).toBe(false);
  });
});
