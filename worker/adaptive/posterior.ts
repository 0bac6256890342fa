/**
 * Bayesian logistic regression per block with a diagonal Gaussian posterior, updated online by
 * the Laplace approximation — Chapelle & Li (2011), "An Empirical Evaluation of Thompson
 * Sampling", NeurIPS, Algorithm 3 ("regularized logistic regression with batch updates"):
 *
 *   prior / current posterior  w_i ~ N(m_i, q_i⁻¹)
 *   new observations (x_j, y_j), y_j ∈ {−1, +1}
 *   w  = argmin_w ½ Σ_i q_i (w_i − m_i)² + Σ_j ln(1 + exp(−y_j wᵀx_j))
 *   m_i ← w_i,  q_i ← q_i + Σ_j x_ij² p_j (1 − p_j),  p_j = σ(wᵀx_j)
 *
 * Here the batch is one observation (the online form), so the argmin is exact and cheap: the
 * gradient condition q ∘ (w − m) = y σ(−y wᵀx) x gives w = m + α (x / q) for a scalar α solving
 * α = y σ(−y (mᵀx + α s)), s = Σ_i x_i² / q_i — a one-dimensional root found by Newton's method
 * (the left side minus the right is strictly increasing in α, so the root is unique). A batch of
 * observations is applied one after the other.
 *
 * Coordinates are the intercept (a constant 1) followed by the feature list
 * (worker/adaptive/features.ts).
 */

/** A block's posterior: mean and precision (1 / variance) per coordinate. */
export interface Posterior {
  mean: number[];
  precision: number[];
  /** Observations applied, and how many were positive. */
  n: number;
  positives: number;
}

/** The prior: N(interceptMean, interceptVariance) for the intercept, N(0, weightVariance) for weights. */
export interface Prior {
  interceptMean: number;
  interceptVariance: number;
  weightVariance: number;
}

/**
 * Default prior: intercept centred on a 5 % click rate (logit −2.94) with variance 1 (a new block
 * may plausibly be anywhere from 1 % to 20 %), weights N(0, 1). Wide enough that a new block is
 * sampled high often enough to be tried (cold start explores), narrow enough not to waste
 * traffic on blocks no one clicks.
 */
export const DEFAULT_PRIOR: Prior = { interceptMean: Math.log(0.05 / 0.95), interceptVariance: 1, weightVariance: 1 };

/** The posterior of a block never observed. `dim` includes the intercept. */
export function priorPosterior(dim: number, prior: Prior = DEFAULT_PRIOR): Posterior {
  return {
    mean: Array.from({ length: dim }, (_, i) => (i === 0 ? prior.interceptMean : 0)),
    precision: Array.from({ length: dim }, (_, i) => 1 / (i === 0 ? prior.interceptVariance : prior.weightVariance)),
    n: 0,
    positives: 0,
  };
}

export const sigmoid = (z: number) => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

/** Mean and variance of the logit wᵀx under the posterior (independent coordinates). */
export function logitMoments(post: Posterior, x: ArrayLike<number>): { mean: number; variance: number } {
  let mean = 0;
  let variance = 0;
  for (let i = 0; i < post.mean.length; i++) {
    const xi = x[i]!;
    mean += post.mean[i]! * xi;
    variance += (xi * xi) / post.precision[i]!;
  }
  return { mean, variance };
}

/** Applies one observation (x with the intercept's 1 first; y = 1 for a positive). Pure. */
export function updatePosterior(post: Posterior, x: ArrayLike<number>, y: 0 | 1): Posterior {
  const sign = y ? 1 : -1;
  const { mean: mx, variance: s } = logitMoments(post, x);
  // Solve g(α) = α − sign · σ(−sign (mx + α s)) = 0; g' = 1 + s σ(1 − σ) > 0.
  let alpha = 0;
  for (let iter = 0; iter < 50; iter++) {
    const r = sigmoid(-sign * (mx + alpha * s));
    const g = alpha - sign * r;
    const dg = 1 + s * r * (1 - r);
    const step = g / dg;
    alpha -= step;
    if (Math.abs(step) < 1e-12) break;
  }
  const mean = post.mean.map((m, i) => m + (alpha * x[i]!) / post.precision[i]!);
  let z = 0;
  for (let i = 0; i < mean.length; i++) z += mean[i]! * x[i]!;
  const p = sigmoid(z);
  const precision = post.precision.map((q, i) => q + x[i]! * x[i]! * p * (1 - p));
  return { mean, precision, n: post.n + 1, positives: post.positives + y };
}
