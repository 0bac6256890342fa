/**
 * Thompson sampling over blocks (Thompson 1933; for logistic models with a Laplace posterior,
 * Chapelle & Li 2011, Algorithm 3): each block's logit is drawn from its posterior and the blocks
 * are ranked by σ(drawn logit) × value. With a diagonal Gaussian posterior the logit wᵀx of a
 * candidate is itself Gaussian, N(mᵀx, Σ x_i²/q_i), so one standard normal per block is one exact
 * draw of the whole weight vector's effect.
 *
 * Randomness is deterministic: standard normals come from Box–Muller (Box & Muller 1958) over
 * mulberry32 (models/prng.ts) seeded by the project's versioned hash (worker/holdout/hash.ts) of
 * the decision id, so a decision replays exactly and Math.random() is never used.
 *
 * Propensity: the probability that the served block wins a fresh draw, among the options the
 * selection allowed, estimated by Monte Carlo with PROPENSITY_DRAWS draws. The serving draw
 * itself is draw 0 (it picked the served block), so the estimate (1 + hits) / D is never 0 and
 * stays a valid IPS denominator. Its standard error is √(p(1 − p)/D) ≤ 0.5/√D = 0.0158 for
 * D = 1000 (relative error √((1 − p)/(pD)): 10 % at p = 0.1, 31 % at p = 0.01); counting the
 * serving draw biases it up by at most (1 − p)/D ≤ 0.001. `exactPropensity` computes the same
 * probability by quadrature, as the reference the tests and the simulation check it against.
 */
import { mulberry32 } from "../../models/prng.ts";
import { murmur3, HASH_VERSION } from "../holdout/hash.ts";
import { sigmoid } from "./posterior.ts";

/** One candidate as Thompson sampling sees it: its logit's posterior moments and its value. */
export interface Arm {
  mean: number;
  /** Standard deviation of the logit. */
  sd: number;
  /** Arbitration value (probability × value). */
  value: number;
}

/** Monte Carlo draws of the propensity estimate. */
export const PROPENSITY_DRAWS = 1000;

/** A seeded stream of standard normals (Box–Muller over mulberry32). */
export function normals(seed: string): () => number {
  const uniform = mulberry32(murmur3(`${HASH_VERSION}:thompson:${seed}`));
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const z = spare;
      spare = undefined;
      return z;
    }
    const u1 = 1 - uniform(); // (0, 1]: ln never sees 0
    const u2 = uniform();
    const r = Math.sqrt(-2 * Math.log(u1));
    spare = r * Math.sin(2 * Math.PI * u2);
    return r * Math.cos(2 * Math.PI * u2);
  };
}

/** One Thompson draw: a sampled probability per arm (the serving scores), seeded by `seed`. */
export function thompsonDraw(arms: readonly Arm[], seed: string): Float64Array {
  const z = normals(seed);
  return Float64Array.from(arms, (a) => sigmoid(a.mean + a.sd * z()));
}

/** Size of the pool of standard normals the propensity draws read (2^17: 50 candidates × 1000 draws fit without reuse). */
const POOL_SIZE = 1 << 17;
let pool: Float64Array | undefined;

/**
 * A fixed pool of standard normals, generated once per isolate from a fixed seed: the
 * propensity's draws read it from a per-decision hashed offset, so a decision's draws are
 * distinct pool entries and cost a table lookup instead of a logarithm, a root and a cosine.
 */
function normalPool(): Float64Array {
  if (!pool) {
    const z = normals("propensity-pool-v1");
    pool = Float64Array.from({ length: POOL_SIZE }, () => z());
  }
  return pool;
}

/**
 * Monte Carlo propensity of `chosen` among `allowed` (indices into `arms`): see the module
 * comment. 1 when it is the only allowed arm.
 */
export function thompsonPropensity(arms: readonly Arm[], allowed: readonly number[], chosen: number, seed: string, draws = PROPENSITY_DRAWS): number {
  if (allowed.length <= 1) return 1;
  const z = normalPool();
  const mask = POOL_SIZE - 1;
  const n = allowed.length;
  let k = murmur3(`${HASH_VERSION}:thompson-propensity:${seed}`) & mask;
  // Each draw gives allowed arm j the pool entry k + j and ranks it v·σ(m + s·z). Arms are visited
  // by falling bound: v when v ≥ 0 (σ < 1), else 0. Once an arm's bound is below the best rank so
  // far, neither it nor any later arm can win the draw, and their logistic is never computed —
  // most of the 50 × 1000 exponentials when block values differ. Ties go to the arm first in
  // `allowed`, as a plain scan in that order would, so the estimate is the same to the bit
  // (test/node/thompson-propensity.test.ts compares it with thompsonPropensityScan).
  const order = Array.from({ length: n }, (_, j) => j).sort((a, b) => bound(arms[allowed[b]!]!.value) - bound(arms[allowed[a]!]!.value) || a - b);
  const m = Float64Array.from(order, (j) => arms[allowed[j]!]!.mean);
  const s = Float64Array.from(order, (j) => arms[allowed[j]!]!.sd);
  const v = Float64Array.from(order, (j) => arms[allowed[j]!]!.value);
  const ub = Float64Array.from(v, bound);
  const slot = Int32Array.from(order);
  const target = allowed.indexOf(chosen);
  let hits = 1;
  for (let d = 1; d < draws; d++) {
    let best = -1;
    let bestRank = -Infinity;
    for (let i = 0; i < n; i++) {
      if (ub[i]! < bestRank) break;
      const j = slot[i]!;
      const rank = v[i]! / (1 + Math.exp(-(m[i]! + s[i]! * z[(k + j) & mask]!)));
      if (rank > bestRank || (rank === bestRank && j < best)) {
        bestRank = rank;
        best = j;
      }
    }
    k = (k + n) & mask;
    if (best === target) hits++;
  }
  return hits / draws;
}

/**
 * The same estimate by a plain scan of every arm in every draw: what thompsonPropensity computed
 * before it skipped arms that cannot win. Kept as its reference (tests compare the two to the bit).
 */
export function thompsonPropensityScan(arms: readonly Arm[], allowed: readonly number[], chosen: number, seed: string, draws = PROPENSITY_DRAWS): number {
  if (allowed.length <= 1) return 1;
  const z = normalPool();
  const mask = POOL_SIZE - 1;
  let k = murmur3(`${HASH_VERSION}:thompson-propensity:${seed}`) & mask;
  const target = allowed.indexOf(chosen);
  let hits = 1;
  for (let d = 1; d < draws; d++) {
    let best = -1;
    let bestRank = -Infinity;
    for (let j = 0; j < allowed.length; j++) {
      const a = arms[allowed[j]!]!;
      const rank = a.value / (1 + Math.exp(-(a.mean + a.sd * z[k]!)));
      k = (k + 1) & mask;
      if (rank > bestRank) {
        bestRank = rank;
        best = j;
      }
    }
    if (best === target) hits++;
  }
  return hits / draws;
}

/** An upper bound of v·σ(x) over x: v for v ≥ 0, else 0; NaN (which never wins) is visited first, never skipped past. */
const bound = (v: number) => (v >= 0 ? v : v < 0 ? 0 : Infinity);

const logit = (p: number) => Math.log(p / (1 - p));

/**
 * Φ(x) by Abramowitz & Stegun (1964) 26.2.17, absolute error < 7.5e-8: accurate enough for a
 * reference propensity and ~20× faster than worker/stats/distributions.ts's double-precision
 * normalCdf, which matters in the 50,000-decision simulation.
 */
function phi(x: number): number {
  const t = 1 / (1 + 0.2316419 * Math.abs(x));
  const poly = t * (0.31938153 + t * (-0.356563782 + t * (1.781477937 + t * (-1.821255978 + t * 1.330274429))));
  const tail = (Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI)) * poly;
  return x >= 0 ? 1 - tail : tail;
}

/**
 * The exact Thompson probability of `chosen` winning among `allowed`, by Simpson's rule over its
 * standard normal z on [−7, 7] (280 intervals): P = ∫ φ(z) Π_c P(rank_c < r(z)) dz with
 * r(z) = σ(m + s z) × value and P(rank_c < r) = Φ((logit(r / value_c) − m_c) / s_c). The
 * reference for the Monte Carlo estimate (tests, simulation); too slow for the decide path.
 */
export function exactPropensity(arms: readonly Arm[], allowed: readonly number[], chosen: number): number {
  if (allowed.length <= 1) return 1;
  const me = arms[chosen]!;
  const others = allowed.filter((i) => i !== chosen).map((i) => arms[i]!);
  const steps = 280;
  const lo = -7;
  const h = 14 / steps;
  let sum = 0;
  for (let k = 0; k <= steps; k++) {
    const z = lo + k * h;
    const r = sigmoid(me.mean + me.sd * z) * me.value;
    let p = Math.exp(-0.5 * z * z) / Math.sqrt(2 * Math.PI);
    for (const o of others) {
      const ratio = r / o.value;
      if (ratio >= 1) continue;
      if (ratio <= 0) { p = 0; break; }
      const t = logit(ratio);
      p *= o.sd > 0 ? phi((t - o.mean) / o.sd) : t > o.mean ? 1 : 0;
    }
    sum += p * (k === 0 || k === steps ? 1 : k % 2 ? 4 : 2);
  }
  return Math.min(1, Math.max(0, (sum * h) / 3));
}
