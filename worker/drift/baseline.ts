/**
 * Drift baselines carried by a model manifest (`baseline.histograms`, `baseline.scores`), the
 * binning the aggregates fold serving values into, and the recipe that computes a baseline from
 * training values (used by `npm run train`; models/README.md shows the same in numpy).
 *
 * - numeric: `edges` e₀ < e₁ < … < e_k (k + 1 values, as numpy.histogram returns; quantile edges
 *   of the training values), `proportions` p₀ … p_{k−1}. Bin i holds [eᵢ, eᵢ₊₁), the last bin
 *   also eₖ (numpy.histogram's rule); at serving, values below e₀ count in bin 0 and above eₖ in
 *   bin k − 1 (the outer bins are open-ended), so every value has a bin.
 * - categorical (one-hot, flags, small integer codes): `values` and their `proportions`; at
 *   serving a value not listed counts in an extra "other" bin (baseline proportion 0).
 * - without a histogram for a feature, serving values are binned on {@link DEFAULT_EDGES} and
 *   compared with the model's first day of serving.
 */
import { z } from "zod";

/** Proportions must sum to 1 within this (rounding in the exporter). */
const SUM_TOLERANCE = 1e-3;
const MAX_BINS = 100;

const proportions = z.array(z.number().min(0).max(1)).min(1).max(MAX_BINS);

function checkSum(p: number[], ctx: z.RefinementCtx) {
  const sum = p.reduce((a, b) => a + b, 0);
  if (Math.abs(sum - 1) > SUM_TOLERANCE) ctx.addIssue({ code: "custom", path: ["proportions"], message: `proportions sum to ${Number(sum.toPrecision(6))}; they must sum to 1` });
}

type Numeric = { edges: number[]; proportions: number[] };
type Categorical = { values: number[]; proportions: number[] };

function checkNumeric(h: Numeric, ctx: z.RefinementCtx) {
  if (h.proportions.length !== h.edges.length - 1) {
    ctx.addIssue({ code: "custom", path: ["proportions"], message: `${h.edges.length} edges make ${h.edges.length - 1} bins, but ${h.proportions.length} proportions are given` });
  }
  const bad = h.edges.findIndex((e, i) => i > 0 && !(e > h.edges[i - 1]!));
  if (bad > 0) ctx.addIssue({ code: "custom", path: ["edges", bad], message: "edges must be strictly increasing (numpy.unique the quantiles)" });
  checkSum(h.proportions, ctx);
}

function checkCategorical(h: Categorical, ctx: z.RefinementCtx) {
  if (h.proportions.length !== h.values.length) ctx.addIssue({ code: "custom", path: ["proportions"], message: `${h.values.length} values but ${h.proportions.length} proportions` });
  if (new Set(h.values).size !== h.values.length) ctx.addIssue({ code: "custom", path: ["values"], message: "a value is listed twice" });
  checkSum(h.proportions, ctx);
}

const edges = z.array(z.number()).min(2).max(MAX_BINS + 1);
const values = z.array(z.number()).min(1).max(MAX_BINS);

/** A numeric histogram (the score baseline): quantile bin edges (k + 1, increasing) and k proportions. */
export const numericHistogramSchema = z.object({ edges, proportions }).strict().superRefine(checkNumeric);

/** One feature's training histogram, numeric or categorical. */
export const featureHistogramSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("numeric"), edges, proportions }).strict().superRefine(checkNumeric),
  z.object({ kind: z.literal("categorical"), values, proportions }).strict().superRefine(checkCategorical),
]);

export type NumericHistogram = z.infer<typeof numericHistogramSchema>;
export type FeatureHistogram = z.infer<typeof featureHistogramSchema>;

/**
 * Bin edges for features without a manifest histogram: bin 0 is (−∞, 0), then [0, 0.1), …,
 * [0.9, 1), [1, 1.5), [1.5, 2), [2, 3), [3, 4), [4, 6), [6, 8), [8, 16), [16, 32), [32, 64),
 * [64, ∞). Fine over [0, 1] (flags, shares, scroll depth) and log-like above (ln(1 + count)
 * features and counts), the ranges of the feature catalog (worker/ranking/features.ts).
 */
export const DEFAULT_EDGES: readonly number[] = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.5, 2, 3, 4, 6, 8, 16, 32, 64];

/** How serving values of one feature (or the score) are binned. */
export type Binning =
  | { kind: "numeric"; edges: readonly number[] }
  | { kind: "categorical"; values: readonly number[] }
  | { kind: "default" };

/** Number of bins of a binning (categorical: the values plus "other"). */
export function binCount(b: Binning): number {
  if (b.kind === "numeric") return b.edges.length - 1;
  if (b.kind === "categorical") return b.values.length + 1;
  return DEFAULT_EDGES.length + 1;
}

/** First index whose edge is > x (binary search). */
function upperBound(edges: readonly number[], x: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (edges[mid]! > x) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Values are float32 in the model's tensor: 0.1 in the manifest matches 0.1 after a float32 round trip. */
const sameValue = (a: number, b: number) => a === b || Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b));

/** The bin of a value (see the module comment); NaN counts in the last bin. */
export function binOfValue(b: Binning, x: number): number {
  if (b.kind === "categorical") {
    const i = b.values.findIndex((v) => sameValue(x, v));
    return i >= 0 ? i : b.values.length;
  }
  const edges = b.kind === "numeric" ? b.edges : DEFAULT_EDGES;
  if (Number.isNaN(x)) return binCount(b) - 1;
  // Bin the float32 the model saw, however it was logged (0.7 is logged for the float32
  // 0.699999988…, which lies below the edge 0.7): the same bin as before the short form.
  const i = upperBound(edges, Math.fround(x));
  return b.kind === "numeric" ? Math.min(Math.max(i - 1, 0), edges.length - 2) : i;
}

/** The baseline proportions of a manifest histogram, bin for bin as {@link binOfValue} counts them. */
export function baselineProportions(h: FeatureHistogram | NumericHistogram): number[] {
  return "values" in h ? [...h.proportions, 0] : [...h.proportions];
}

/** A manifest histogram's binning. */
export function binningOf(h: FeatureHistogram | NumericHistogram | undefined): Binning {
  if (!h) return { kind: "default" };
  return "values" in h ? { kind: "categorical", values: h.values } : { kind: "numeric", edges: h.edges };
}

/** Features with at most this many distinct training values get a categorical histogram. */
export const CATEGORICAL_MAX_VALUES = 10;
/** Quantile bins of a numeric histogram (deciles). */
export const QUANTILE_BINS = 10;

/** numpy.quantile's default (linear, "type 7") quantile of sorted values. */
function quantile(sorted: number[], q: number): number {
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  return sorted[lo]! + (h - lo) * ((sorted[Math.min(lo + 1, sorted.length - 1)] ?? sorted[lo]!) - sorted[lo]!);
}

const round6 = (v: number) => Math.round(v * 1e6) / 1e6;

/**
 * The training histogram of one feature's values: categorical when it takes at most
 * {@link CATEGORICAL_MAX_VALUES} distinct values, else decile edges (numpy.unique of
 * numpy.quantile(x, linspace(0, 1, 11))) with numpy.histogram's counts. Same recipe as
 * models/README.md.
 */
export function histogramOf(values: readonly number[]): FeatureHistogram {
  if (!values.length) throw new Error("histogramOf: no values");
  const distinct = [...new Set(values)].sort((a, b) => a - b);
  if (distinct.length <= CATEGORICAL_MAX_VALUES) {
    const counts = distinct.map((v) => values.filter((x) => x === v).length);
    return { kind: "categorical", values: distinct, proportions: normalised(counts) };
  }
  const sorted = [...values].sort((a, b) => a - b);
  const edges = [...new Set(Array.from({ length: QUANTILE_BINS + 1 }, (_, i) => quantile(sorted, i / QUANTILE_BINS)))];
  const binning: Binning = { kind: "numeric", edges };
  const counts = new Array<number>(edges.length - 1).fill(0);
  for (const x of values) counts[binOfValue(binning, x)]!++;
  return { kind: "numeric", edges, proportions: normalised(counts) };
}

/** Score distribution baseline: decile edges of the training scores (numeric only). */
export function scoreHistogramOf(scores: readonly number[]): NumericHistogram {
  const h = histogramOf(scores);
  if (h.kind === "numeric") return { edges: h.edges, proportions: h.proportions };
  // Few distinct scores (a model with few inputs): edges around each value.
  const v = h.values;
  const edges = v.length === 1 ? [v[0]! - 1e-6, v[0]! + 1e-6] : [v[0]!, ...v.slice(1).map((x, i) => (x + v[i]!) / 2), v[v.length - 1]!];
  return { edges, proportions: h.proportions };
}

/** Counts → proportions rounded to 6 decimals, the rounding error put on the largest. */
function normalised(counts: number[]): number[] {
  const total = counts.reduce((a, b) => a + b, 0);
  const p = counts.map((c) => round6(c / total));
  const largest = p.indexOf(Math.max(...p));
  p[largest] = round6(p[largest]! + 1 - p.reduce((a, b) => a + b, 0));
  return p;
}
