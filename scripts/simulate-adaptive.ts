/**
 * Simulation of the adaptive model (issue 14): a population with known click probabilities per
 * context and block; the adaptive model (per-block Bayesian logistic regression, Thompson
 * sampling, worker/adaptive/) against ε-greedy (ε = 0.05, the decide core's `choose`) over the
 * same learner's posterior mean, on the same stream: same contexts, same click coins. Prints the
 * cumulative regret curve, the click rates, and the IPS check of the adaptive model's logged
 * (Monte Carlo) propensities. Deterministic: seeded, never Math.random().
 *
 *   npm run simulate            (50,000 decisions)
 *   npm run simulate -- 20000   (another length)
 */
import { pathToFileURL } from "node:url";
import { mulberry32 } from "../models/prng.ts";
import demoCatalog from "../worker/catalog/demo-catalog.json" with { type: "json" };
import type { Block } from "../worker/catalog/schema.ts";
import { adaptiveFeatureNames, withIntercept } from "../worker/adaptive/features.ts";
import { logitMoments, priorPosterior, sigmoid, updatePosterior, type Posterior } from "../worker/adaptive/posterior.ts";
import { exactPropensity, thompsonDraw, thompsonPropensity, type Arm } from "../worker/adaptive/thompson.ts";
import { choose } from "../worker/decide/select.ts";
import { buildFeatureMatrix } from "../worker/ranking/features.ts";
import type { Signals } from "../worker/ranking/signals.ts";

/** The hero slot's blocks of the demo catalog, valued alike (the reward is a click). */
export const BLOCKS = (demoCatalog.blocks as unknown as Block[]).filter((b) => b.slots.includes("hero")).map((b) => ({ ...b, tags: b.tags ?? [] }));

/** 32 contexts: page category × device × first visit or not × search referrer or not. */
export const CONTEXTS: Signals[] = (["shoes", "jackets", "bags", "home"] as const).flatMap((page) =>
  (["mobile", "desktop"] as const).flatMap((device) =>
    [1, 4].flatMap((visitCount) =>
      ["https://www.google.com/", ""].map((referrer) => ({
        ...(page === "home" ? { pageType: "home" as const } : { pageCategory: page, pageType: "category" as const }),
        device,
        visitCount,
        referrer,
        categoryViews: page === "home" ? {} : { [page]: 2 },
      })),
    ),
  ),
);

/**
 * The known truth: click probability of block b in context c. A promo matching the page clicks
 * at ≈ 7–12 %, elsewhere 1–4 %; the welcome offer clicks at ≈ 9 % on first visits; mobile lowers
 * everything a little; the house default clicks at 2 %.
 */
export function clickProbability(c: Signals, b: Block): number {
  let z = -3.6;
  if (b.tags.includes("default")) return 0.02;
  if (c.pageCategory === b.category) z += 1.5 + (b.category === "jackets" ? 0.4 : 0);
  if (b.tags.includes("newcomer")) z += (c.visitCount ?? 1) <= 1 ? 1.3 : -0.3;
  if (c.device === "mobile") z -= 0.3;
  if (c.referrer && b.category === "shoes") z += 0.3;
  return sigmoid(z);
}

export interface SimulationResult {
  decisions: number;
  checkpoints: number[];
  regret: { adaptive: number[]; epsilonGreedy: number[] };
  clickRate: { adaptive: number; epsilonGreedy: number; oracle: number };
  /**
   * IPS of the adaptive model's own logs, on every IPS_EVERY-th decision: Σ r · π(a|x) / p̂ / n,
   * π the exact Thompson probability (quadrature), p̂ the logged Monte Carlo propensity; equal to
   * the observed click rate of those decisions when the logged propensities are right.
   */
  ips: { decisions: number; estimate: number; low: number; high: number; observed: number; meanWeight: number; maxAbsPropensityError: number };
}

/** The IPS check (Monte Carlo and exact propensity) runs on every 5th decision, to keep the run short. */
export const IPS_EVERY = 5;

function armsOf(posteriors: Posterior[], rows: Float64Array[]): Arm[] {
  return rows.map((x, b) => {
    const { mean, variance } = logitMoments(posteriors[b]!, x);
    return { mean, sd: Math.sqrt(variance), value: 1 };
  });
}

/** Runs both policies on the same stream of `n` decisions. */
export function simulateAdaptive(n = 50_000, seed = 20261130): SimulationResult {
  const names = adaptiveFeatureNames();
  const rows = CONTEXTS.map((c) => {
    const m = buildFeatureMatrix(names, c, BLOCKS);
    return BLOCKS.map((_, b) => withIntercept(m.subarray(b * names.length, (b + 1) * names.length)));
  });
  const truth = CONTEXTS.map((c) => BLOCKS.map((b) => clickProbability(c, b)));
  const best = truth.map((t) => Math.max(...t));
  const dim = names.length + 1;
  const ts = BLOCKS.map(() => priorPosterior(dim));
  const eg = BLOCKS.map(() => priorPosterior(dim));
  const rng = mulberry32(seed);
  const every = Math.max(1, Math.floor(n / 10));
  const checkpoints: number[] = [];
  const regret = { adaptive: [] as number[], epsilonGreedy: [] as number[] };
  let rTs = 0, rEg = 0, clicksTs = 0, clicksEg = 0, oracle = 0;
  let ipsSum = 0, ipsSq = 0, weightSum = 0, maxErr = 0, ipsN = 0, ipsClicks = 0;
  const all = BLOCKS.map((_, i) => i);
  for (let t = 0; t < n; t++) {
    const c = Math.floor(rng() * CONTEXTS.length);
    const coin = rng(); // the same click coin for both policies
    const id = `sim-${seed}-${t}`;
    oracle += best[c]!;

    // Adaptive: one Thompson draw, the best sampled probability × value, its MC propensity.
    const arms = armsOf(ts, rows[c]!);
    const sampled = thompsonDraw(arms, id);
    let a = 0;
    for (let b = 1; b < BLOCKS.length; b++) if (sampled[b]! > sampled[a]!) a = b;
    const yTs = coin < truth[c]![a]! ? 1 : 0;
    if (t % IPS_EVERY === 0) {
      // The propensity serving logs (Monte Carlo) against the exact one (quadrature).
      const logged = thompsonPropensity(arms, all, a, id);
      const exact = exactPropensity(arms, all, a);
      maxErr = Math.max(maxErr, Math.abs(logged - exact));
      const w = exact / logged;
      ipsSum += yTs * w;
      ipsSq += (yTs * w) ** 2;
      weightSum += w;
      ipsN++;
      ipsClicks += yTs;
    }
    clicksTs += yTs;
    rTs += best[c]! - truth[c]![a]!;
    ts[a] = updatePosterior(ts[a]!, rows[c]![a]!, yTs);

    // ε-greedy over the posterior mean of the same learner (the decide core's exploration).
    const ranked = all.map((b) => ({ b, p: sigmoid(logitMoments(eg[b]!, rows[c]![b]!).mean) })).sort((x, y) => y.p - x.p || x.b - y.b);
    const g = choose(ranked, id, 0.05).pick.b;
    const yEg = coin < truth[c]![g]! ? 1 : 0;
    clicksEg += yEg;
    rEg += best[c]! - truth[c]![g]!;
    eg[g] = updatePosterior(eg[g]!, rows[c]![g]!, yEg);

    if ((t + 1) % every === 0 || t + 1 === n) {
      checkpoints.push(t + 1);
      regret.adaptive.push(rTs);
      regret.epsilonGreedy.push(rEg);
    }
  }
  const estimate = ipsSum / ipsN;
  const se = Math.sqrt(Math.max(0, ipsSq / ipsN - estimate ** 2) / ipsN);
  return {
    decisions: n,
    checkpoints,
    regret,
    clickRate: { adaptive: clicksTs / n, epsilonGreedy: clicksEg / n, oracle: oracle / n },
    ips: { decisions: ipsN, estimate, low: estimate - 1.96 * se, high: estimate + 1.96 * se, observed: ipsClicks / ipsN, meanWeight: weightSum / ipsN, maxAbsPropensityError: maxErr },
  };
}

/** The figures as printed by `npm run simulate` (and pasted into the README). */
export function formatResult(r: SimulationResult): string {
  const pad = (s: string | number, w: number) => String(s).padStart(w);
  const lines = [
    `Adaptive model (Thompson sampling) vs ε-greedy (ε = 0.05), ${r.decisions.toLocaleString("en-US")} decisions, ${CONTEXTS.length} contexts × ${BLOCKS.length} blocks`,
    "",
    `${pad("decisions", 10)} ${pad("regret adaptive", 16)} ${pad("regret ε-greedy", 16)}`,
    ...r.checkpoints.map((n, i) => `${pad(n, 10)} ${pad(r.regret.adaptive[i]!.toFixed(1), 16)} ${pad(r.regret.epsilonGreedy[i]!.toFixed(1), 16)}`),
    "",
    `click rate: adaptive ${(100 * r.clickRate.adaptive).toFixed(2)} %, ε-greedy ${(100 * r.clickRate.epsilonGreedy).toFixed(2)} %, oracle ${(100 * r.clickRate.oracle).toFixed(2)} %`,
    `IPS of the adaptive model's own logs (${r.ips.decisions.toLocaleString("en-US")} decisions): ${(100 * r.ips.estimate).toFixed(2)} % [${(100 * r.ips.low).toFixed(2)}, ${(100 * r.ips.high).toFixed(2)}] (95 %), observed ${(100 * r.ips.observed).toFixed(2)} %; mean weight ${r.ips.meanWeight.toFixed(4)}; max |MC − exact| propensity ${r.ips.maxAbsPropensityError.toFixed(4)}`,
  ];
  return lines.join("\n");
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const n = Number(process.argv[2] ?? 50_000);
  if (!Number.isInteger(n) || n < 100) throw new Error("usage: npm run simulate -- [decisions ≥ 100]");
  console.log(formatResult(simulateAdaptive(n)));
}
