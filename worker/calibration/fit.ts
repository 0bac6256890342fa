/**
 * Calibration maps fitted on logged (prediction, outcome) pairs, stored as a versioned
 * post-processing step of a model (worker/calibration/store.ts) and applied at serving.
 *
 * - Platt scaling: Platt (1999), "Probabilistic Outputs for Support Vector Machines and
 *   Comparisons to Regularized Likelihood Methods", in Advances in Large Margin Classifiers, with
 *   Platt's smoothed targets t₊ = (N₊ + 1)/(N₊ + 2), t₋ = 1/(N₋ + 2), fitted by the Newton method
 *   with backtracking of Lin, Lin & Weng (2007), "A note on Platt's probabilistic outputs for
 *   support vector machines", Machine Learning 68. The input is the model's logit, ln(p/(1 − p)),
 *   so the identity map is a = 1, b = 0 and p' = σ(a · logit(p) + b).
 * - Isotonic regression: the pool-adjacent-violators algorithm (Ayer et al. 1955; as a
 *   calibration method: Zadrozny & Elkan 2002, "Transforming classifier scores into accurate
 *   multiclass probability estimates", KDD; compared with Platt by Niculescu-Mizil & Caruana 2005,
 *   "Predicting Good Probabilities With Supervised Learning", ICML). Served as a step function:
 *   a prediction takes the value of the last pooled block whose smallest input is ≤ it.
 */
import type { Labelled } from "./metrics.ts";

export type CalibrationMethod = "platt" | "isotonic";

/** A fitted map, as stored (JSON). */
export type CalibrationMap =
  | { method: "platt"; a: number; b: number }
  | { method: "isotonic"; /** Smallest input of each pooled block, ascending. */ x: number[]; /** Its calibrated value (non-decreasing). */ y: number[] };

const EPS = 1e-12;
const logit = (p: number) => {
  const c = Math.min(Math.max(p, EPS), 1 - EPS);
  return Math.log(c / (1 - c));
};
const sigmoid = (z: number) => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

/** Platt scaling of the logit (see the module comment); Newton with backtracking, ≤ 100 steps. */
export function fitPlatt(data: readonly Labelled[]): { method: "platt"; a: number; b: number } {
  const nPos = data.reduce((s, d) => s + d.y, 0);
  const nNeg = data.length - nPos;
  const hi = (nPos + 1) / (nPos + 2);
  const lo = 1 / (nNeg + 2);
  const f = data.map((d) => logit(d.p));
  const t = data.map((d) => (d.y ? hi : lo));
  // Objective: Σ −[t ln q + (1 − t) ln(1 − q)], q = σ(a f + b), in the stable form of Lin et al.
  const objective = (a: number, b: number) => {
    let s = 0;
    for (let i = 0; i < f.length; i++) {
      const z = a * f[i]! + b;
      s += z >= 0 ? (1 - t[i]!) * z + Math.log1p(Math.exp(-z)) : -t[i]! * z + Math.log1p(Math.exp(z));
    }
    return s;
  };
  let a = 1;
  let b = 0;
  let value = objective(a, b);
  const sigma = 1e-12; // Lin et al.'s Hessian ridge
  for (let iter = 0; iter < 100; iter++) {
    let g1 = 0, g2 = 0, h11 = sigma, h22 = sigma, h21 = 0;
    for (let i = 0; i < f.length; i++) {
      const q = sigmoid(a * f[i]! + b);
      const d1 = q - t[i]!;
      const d2 = q * (1 - q);
      g1 += f[i]! * d1;
      g2 += d1;
      h11 += f[i]! * f[i]! * d2;
      h22 += d2;
      h21 += f[i]! * d2;
    }
    if (Math.abs(g1) < 1e-9 && Math.abs(g2) < 1e-9) break;
    const det = h11 * h22 - h21 * h21;
    const da = -(h22 * g1 - h21 * g2) / det;
    const db = -(-h21 * g1 + h11 * g2) / det;
    const gd = g1 * da + g2 * db;
    let step = 1;
    let moved = false;
    while (step >= 1e-10) {
      const na = a + step * da;
      const nb = b + step * db;
      const nv = objective(na, nb);
      if (nv < value + 1e-4 * step * gd) {
        a = na;
        b = nb;
        value = nv;
        moved = true;
        break;
      }
      step /= 2;
    }
    if (!moved) break;
  }
  return { method: "platt", a, b };
}

/** Isotonic regression by pool-adjacent-violators (see the module comment). O(n log n). */
export function fitIsotonic(data: readonly Labelled[]): { method: "isotonic"; x: number[]; y: number[] } {
  const sorted = [...data].sort((u, v) => u.p - v.p);
  // Blocks on a stack: smallest input, sum of outcomes, weight.
  const xs: number[] = [];
  const sums: number[] = [];
  const ws: number[] = [];
  for (let i = 0; i < sorted.length; ) {
    // Equal inputs form one block from the start (ties must map to one value).
    let j = i;
    let s = 0;
    while (j < sorted.length && sorted[j]!.p === sorted[i]!.p) s += sorted[j++]!.y;
    xs.push(sorted[i]!.p);
    sums.push(s);
    ws.push(j - i);
    while (ws.length > 1 && sums.at(-2)! / ws.at(-2)! >= sums.at(-1)! / ws.at(-1)!) {
      sums[sums.length - 2]! += sums.pop()!;
      ws[ws.length - 2]! += ws.pop()!;
      xs.pop();
    }
    i = j;
  }
  return { method: "isotonic", x: xs, y: sums.map((s, k) => s / ws[k]!) };
}

/** Fits the chosen method. Throws on an empty sample. */
export function fitCalibration(data: readonly Labelled[], method: CalibrationMethod): CalibrationMap {
  if (!data.length) throw new Error("calibration needs at least one logged prediction");
  return method === "platt" ? fitPlatt(data) : fitIsotonic(data);
}

/** The map as a function; cheap enough for every candidate of every decision. */
export function calibrator(map: CalibrationMap): (p: number) => number {
  if (map.method === "platt") return (p) => sigmoid(map.a * logit(p) + map.b);
  const { y } = map;
  // Block starts are logged scores (shortest decimals, worker/audit/float32.ts) and p is the
  // model's float32: compare both as float32, or a score served exactly at a block start falls
  // into the block below whenever its shortest decimal is above the float32.
  const x = map.x.map(Math.fround);
  return (raw) => {
    const p = Math.fround(raw);
    if (!(p >= x[0]!)) return y[0]!;
    // Binary search for the last block starting at or below p.
    let lo = 0;
    let hi = x.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (x[mid]! <= p) lo = mid;
      else hi = mid - 1;
    }
    return y[lo]!;
  };
}
