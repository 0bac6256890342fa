import { beforeAll, describe, expect, it } from "vitest";
import { logitMoments, priorPosterior, sigmoid, updatePosterior } from "../../worker/adaptive/posterior.ts";
import { exactPropensity, thompsonDraw, thompsonPropensity, type Arm } from "../../worker/adaptive/thompson.ts";
import { formatResult, simulateAdaptive, type SimulationResult } from "../../scripts/simulate-adaptive.ts";

describe("online Laplace update (Chapelle & Li 2011, Algorithm 3)", () => {
  // References computed independently (Python, bisection on the MAP's gradient).
  it.each([
    { prior: { interceptMean: 0, interceptVariance: 1, weightVariance: 1 }, y: 1 as const, mean: 0.401058137541547, precision: 1.2402105078532526 },
    { prior: { interceptMean: -1, interceptVariance: 2, weightVariance: 1 }, y: 0 as const, mean: -1.3966852714371436, precision: 0.6590028345747816 },
  ])("one observation y=$y on an intercept-only model", ({ prior, y, mean, precision }) => {
    const post = updatePosterior(priorPosterior(1, prior), [1], y);
    expect(post.mean[0]).toBeCloseTo(mean, 10);
    expect(post.precision[0]).toBeCloseTo(precision, 10);
    expect(post).toMatchObject({ n: 1, positives: y });
  });

  it("the new mean is the MAP of prior × likelihood (its gradient vanishes) in several dimensions", () => {
    const prior = priorPosterior(4);
    const start = { ...prior, mean: [-2, 0.3, -0.1, 0.5], precision: [1, 2, 0.5, 4] };
    const x = [1, 0.7, -1.2, 2];
    for (const y of [0, 1] as const) {
      const post = updatePosterior(start, x, y);
      const p = sigmoid(post.mean.reduce((s, m, i) => s + m * x[i]!, 0));
      post.mean.forEach((m, i) => {
        const grad = start.precision[i]! * (m - start.mean[i]!) - (y - p) * x[i]!;
        expect(Math.abs(grad)).toBeLessThan(1e-9);
      });
      post.precision.forEach((q, i) => expect(q).toBeCloseTo(start.precision[i]! + x[i]! ** 2 * p * (1 - p), 12));
    }
  });

  it("learns a click rate: 2,000 observations at 10 % put the intercept's mean near logit 0.1", () => {
    let post = priorPosterior(1);
    for (let i = 0; i < 2000; i++) post = updatePosterior(post, [1], i % 10 === 0 ? 1 : 0);
    expect(sigmoid(post.mean[0]!)).toBeCloseTo(0.1, 2);
    expect(logitMoments(post, [1]).variance).toBeLessThan(0.01);
  });
});

describe("Thompson sampling and its Monte Carlo propensity", () => {
  const arms: Arm[] = [
    { mean: -2, sd: 0.5, value: 1 },
    { mean: -2.3, sd: 1, value: 1 },
    { mean: -3, sd: 0.2, value: 2 },
    { mean: -4, sd: 1.5, value: 1 },
  ];
  it("draws are deterministic per seed and differ between seeds", () => {
    expect(thompsonDraw(arms, "d-1")).toEqual(thompsonDraw(arms, "d-1"));
    expect(thompsonDraw(arms, "d-1")).not.toEqual(thompsonDraw(arms, "d-2"));
  });
  it("the exact propensities sum to 1 over the allowed arms", () => {
    const all = [0, 1, 2, 3];
    expect(all.reduce((s, i) => s + exactPropensity(arms, all, i), 0)).toBeCloseTo(1, 5);
    // Two equal arms split evenly.
    const twins: Arm[] = [{ mean: -1, sd: 1, value: 1 }, { mean: -1, sd: 1, value: 1 }];
    expect(exactPropensity(twins, [0, 1], 0)).toBeCloseTo(0.5, 6);
  });
  it.each([0, 1, 2, 3])("Monte Carlo propensity of arm %i is within 4 standard errors of the exact one", (i) => {
    const exact = exactPropensity(arms, [0, 1, 2, 3], i);
    const mc = thompsonPropensity(arms, [0, 1, 2, 3], i, `seed-${i}`);
    expect(Math.abs(mc - exact)).toBeLessThan(4 * Math.sqrt((exact * (1 - exact)) / 1000) + 0.001);
  });
  it("the empirical frequency of Thompson picks matches the exact propensity", () => {
    const wins = [0, 0, 0, 0];
    for (let d = 0; d < 4000; d++) {
      const s = thompsonDraw(arms, `freq-${d}`);
      const ranks = [...s].map((p, j) => p * arms[j]!.value);
      wins[ranks.indexOf(Math.max(...ranks))]!++;
    }
    wins.forEach((w, i) => {
      const p = exactPropensity(arms, [0, 1, 2, 3], i);
      expect(Math.abs(w / 4000 - p)).toBeLessThan(4 * Math.sqrt((p * (1 - p)) / 4000) + 0.001);
    });
  });
  it("a single allowed arm has propensity 1", () => {
    expect(thompsonPropensity(arms, [2], 2, "x")).toBe(1);
  });
});

describe("simulation: adaptive vs ε-greedy (ε = 0.05) on the same 50,000-decision stream", () => {
  let r: SimulationResult;
  beforeAll(() => {
    r = simulateAdaptive(50_000);
    console.log(formatResult(r));
    // A behaviour check, not a speed one: the run takes seconds, minutes on a loaded machine.
  }, 600_000);
  it("the adaptive model's cumulative regret is below ε-greedy's at every checkpoint", () => {
    expect(r.checkpoints.at(-1)).toBe(50_000);
    r.checkpoints.forEach((_, i) => expect(r.regret.adaptive[i]!).toBeLessThan(r.regret.epsilonGreedy[i]!));
    expect(r.clickRate.adaptive).toBeGreaterThan(r.clickRate.epsilonGreedy);
  });
  it("IPS of its own logs (logged Monte Carlo propensities) covers its observed click rate", () => {
    expect(r.ips.observed).toBeGreaterThanOrEqual(r.ips.low);
    expect(r.ips.observed).toBeLessThanOrEqual(r.ips.high);
    expect(r.ips.meanWeight).toBeGreaterThan(0.95);
    expect(r.ips.meanWeight).toBeLessThan(1.05);
    expect(r.ips.maxAbsPropensityError).toBeLessThan(0.08);
  });
});
