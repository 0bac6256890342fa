/**
 * Logistic regression by full-batch gradient descent with L2 regularisation: no randomness and a
 * fixed number of steps, so the same data always gives the same weights.
 */

export interface TrainingSet {
  featureNames: string[];
  /** Row-major features, one row per example. */
  rows: number[][];
  labels: number[];
  /** Optional per-example weights (e.g. inverse propensities); default 1. */
  weights?: number[];
}

export interface TrainOptions {
  iterations: number;
  learningRate: number;
  l2: number;
}

export interface FittedModel {
  weights: number[];
  bias: number;
  baseline: { mean: number[]; std: number[] };
  /** Mean log-loss on the training data. */
  logLoss: number;
}

/** The logistic function. */
export const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));

/** Per-feature mean and standard deviation (population), the drift baseline of the manifest. */
export function featureStats(rows: number[][], width: number): { mean: number[]; std: number[] } {
  const mean = new Array<number>(width).fill(0);
  const sq = new Array<number>(width).fill(0);
  for (const row of rows) for (let j = 0; j < width; j++) mean[j]! += row[j]!;
  for (let j = 0; j < width; j++) mean[j] = mean[j]! / rows.length;
  for (const row of rows) for (let j = 0; j < width; j++) sq[j]! += (row[j]! - mean[j]!) ** 2;
  return { mean, std: sq.map((s) => Math.sqrt(s / rows.length)) };
}

/** Fits the model. Features are standardised internally and the weights mapped back. */
export function fitLogistic(data: TrainingSet, options: TrainOptions): FittedModel {
  const width = data.featureNames.length;
  const n = data.rows.length;
  if (n === 0) throw new Error("no training rows");
  const baseline = featureStats(data.rows, width);
  const scale = baseline.std.map((s) => (s > 1e-9 ? s : 1));
  const z = data.rows.map((row) => row.map((v, j) => (v - baseline.mean[j]!) / scale[j]!));
  const sampleWeight = data.weights ?? new Array<number>(n).fill(1);
  const totalWeight = sampleWeight.reduce((a, b) => a + b, 0);
  const w = new Array<number>(width).fill(0);
  let b = 0;
  for (let it = 0; it < options.iterations; it++) {
    const gw = new Array<number>(width).fill(0);
    let gb = 0;
    for (let i = 0; i < n; i++) {
      const row = z[i]!;
      let s = b;
      for (let j = 0; j < width; j++) s += w[j]! * row[j]!;
      const err = (sigmoid(s) - data.labels[i]!) * sampleWeight[i]!;
      for (let j = 0; j < width; j++) gw[j]! += err * row[j]!;
      gb += err;
    }
    for (let j = 0; j < width; j++) w[j]! -= options.learningRate * (gw[j]! / totalWeight + options.l2 * w[j]!);
    b -= options.learningRate * (gb / totalWeight);
  }
  return fittedFromStandardised(data, w, b, scale, baseline);
}

/**
 * Maps weights fitted on standardised features back to raw feature units (w_raw = w / scale,
 * b_raw = b − Σ w_raw · mean) and measures the mean log-loss on the training data.
 */
export function fittedFromStandardised(data: TrainingSet, w: number[], b: number, scale: number[], baseline: FittedModel["baseline"]): FittedModel {
  const width = w.length;
  const weights = w.map((wj, j) => wj / scale[j]!);
  const bias = b - weights.reduce((acc, wj, j) => acc + wj * baseline.mean[j]!, 0);
  let loss = 0;
  for (let i = 0; i < data.rows.length; i++) {
    let s = bias;
    for (let j = 0; j < width; j++) s += weights[j]! * data.rows[i]![j]!;
    const p = Math.min(Math.max(sigmoid(s), 1e-12), 1 - 1e-12);
    loss -= data.labels[i]! ? Math.log(p) : Math.log(1 - p);
  }
  return { weights, bias, baseline, logLoss: loss / data.rows.length };
}
