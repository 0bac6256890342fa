/**
 * The reference trainer: a logistic-regression ranker fitted on a training export (one logged
 * decision per line), written as an ONNX file with its manifest — the same graph as the default
 * model, so every upload check passes. Rows are the served (chosen) candidates: features as
 * logged, label = click or conversion, optionally weighted by 1 / propensity (IPS) so the fit
 * describes all candidates rather than the ones the logging policy liked.
 */
import { unitHash } from "../worker/holdout/hash.ts";
import { histogramOf, scoreHistogramOf } from "../worker/drift/baseline.ts";
import { declaredColumns, type Declarations } from "../worker/ranking/declared.ts";
import { CATALOG_FEATURE_NAMES } from "../worker/ranking/features.ts";
import { manifestSchema, type ModelManifest } from "../worker/ranking/manifest.ts";
import { trainingWarnings, weightReport, type TrainingWarning, type WeightReport } from "./diagnostics.ts";
import type { ExportLine } from "./export-format.ts";
import { fitLogistic, type FittedModel, type TrainingSet } from "./logistic-regression.ts";
import { fitLogisticNewton } from "./newton-logistic.ts";
import { writeLinearModel } from "./onnx-writer.ts";

export interface TrainerOptions {
  label: "click" | "conversion";
  /** Weight each row by 1 / propensity. */
  ips: boolean;
  /** Cap of the IPS weights (tames tiny propensities). */
  maxWeight: number;
  /** Model features, in order; default: the first usable line's featureNames. */
  features?: string[];
  /** Manifest name. */
  name: string;
  l2: number;
  /**
   * Folds of the cross-validation that measures the fit (each decision, by a hash of its id, is
   * held out once); 0 or 1 for none. The model written is fitted on all rows.
   */
  folds: number;
  /** Keep decisions with no recorded impression (the block may never have been seen). */
  includeUnseen: boolean;
  solver: "newton" | "gd";
  /**
   * Declared features (docs/features.md) the model uses, written into its manifest so serving
   * computes them exactly as the logging model did; validated by the Worker's own schema.
   */
  declarations?: Declarations;
  /** What the model predicts (manifest `outcome`); absent: click. */
  outcome?: string;
}

export const DEFAULT_TRAINER_OPTIONS: TrainerOptions = {
  label: "click",
  ips: false,
  maxWeight: 100,
  name: "nextbest-trained",
  l2: 1e-4,
  folds: 5,
  includeUnseen: false,
  solver: "newton",
};

/** Salt of the cross-validation folds. */
export const FOLD_SALT = "nextbest-train-folds-v1";

/**
 * Held-out log-loss of the model against the constant predictor, every row predicted by the fit
 * of the folds it is not in. With rare clicks a single split is mostly noise: every row counts.
 */
export interface CrossValidation {
  folds: number;
  rows: number;
  positives: number;
  logLoss: number;
  /** Each fold's training (weighted) positive rate, predicted for every held-out row. */
  baselineLogLoss: number;
  /** baselineLogLoss − logLoss (> 0: the model is better), with a 95% normal interval. */
  improvement: number;
  improvementCi95: [number, number];
}

export interface TrainResult {
  model: Uint8Array;
  manifest: ModelManifest;
  fit: FittedModel;
  rows: number;
  positives: number;
  skipped: Record<string, number>;
  crossValidation?: CrossValidation;
  /** Each weight with its feature's name and support (models/diagnostics.ts). */
  weightReport: WeightReport[];
  /** Rare features with large weights, an improvement whose interval crosses 0. */
  warnings: TrainingWarning[];
  /** Time range of the export read (epoch ms), also in the manifest's `training`. */
  timeRange: { from: number; to: number };
}

const clip = (p: number) => Math.min(Math.max(p, 1e-12), 1 - 1e-12);
const lossOf = (p: number, y: number) => -(y ? Math.log(clip(p)) : Math.log(1 - clip(p)));

/** The model's probability for one row. */
export function predict(fit: Pick<FittedModel, "weights" | "bias">, row: readonly number[]): number {
  let s = fit.bias;
  for (let j = 0; j < fit.weights.length; j++) s += fit.weights[j]! * row[j]!;
  return 1 / (1 + Math.exp(-s));
}

/** Candidate rows kept for the drift baseline (the first ones of the export; bounds memory). */
const MAX_POPULATION = 200_000;

interface Example {
  row: number[];
  label: number;
  weight: number;
  fold: number;
}

/** Turns export lines into examples; counts what was skipped and why. */
async function examples(lines: AsyncIterable<ExportLine> | Iterable<ExportLine>, o: TrainerOptions) {
  let features = o.features;
  const out: Example[] = [];
  const skipped: Record<string, number> = {};
  const skip = (why: string) => (skipped[why] = (skipped[why] ?? 0) + 1);
  let from = Infinity;
  let to = -Infinity;
  // Every scored candidate's row (holdouts and unseen decisions too): the population the drift
  // histograms describe, as the serving aggregates count it (worker/aggregates/drift-bins.ts).
  const population: number[][] = [];
  for await (const line of lines) {
    // The export's range, every line counted: whatever the trainer saw is training data.
    from = Math.min(from, line.time);
    to = Math.max(to, line.time);
    const names = features ?? line.featureNames;
    const cols = names.map((f) => line.featureNames.indexOf(f));
    if (names.length && cols.every((c) => c >= 0)) {
      for (const c of line.candidates) {
        if (population.length >= MAX_POPULATION) break;
        if (c.features.length === line.featureNames.length) population.push(cols.map((i) => c.features[i]!));
      }
    }
    if (line.holdout) { skip("holdout (default block, no model)"); continue; }
    if (!o.includeUnseen && !line.outcomes.impression) { skip("no impression recorded"); continue; }
    const chosen = line.candidates.find((c) => c.blockId === line.chosenBlockId);
    if (!chosen || chosen.features.length === 0 || chosen.features.length !== line.featureNames.length) { skip("no features for the served block"); continue; }
    if (o.ips && !(line.propensity && line.propensity > 0)) { skip("no propensity (needed by --ips)"); continue; }
    features ??= line.featureNames;
    const columns = features.map((f) => line.featureNames.indexOf(f));
    if (columns.some((c) => c < 0)) { skip("lacks a model feature"); continue; }
    out.push({
      row: columns.map((c) => chosen.features[c]!),
      label: line.outcomes[o.label] > 0 ? 1 : 0,
      weight: o.ips ? Math.min(1 / line.propensity!, o.maxWeight) : 1,
      fold: o.folds > 1 ? Math.floor(unitHash(FOLD_SALT, line.decisionId) * o.folds) : 0,
    });
  }
  return { features: features ?? [], examples: out, skipped, timeRange: { from, to }, population };
}

function fitRows(rows: Example[], features: string[], o: TrainerOptions): FittedModel {
  const data: TrainingSet = { featureNames: features, rows: rows.map((e) => e.row), labels: rows.map((e) => e.label), weights: rows.map((e) => e.weight) };
  return o.solver === "newton" ? fitLogisticNewton(data, { l2: o.l2 }) : fitLogistic(data, { iterations: 400, learningRate: 0.5, l2: o.l2 });
}

function crossValidate(all: Example[], features: string[], o: TrainerOptions): CrossValidation {
  const model: number[] = [];
  const constant: number[] = [];
  const labels: number[] = [];
  for (let k = 0; k < o.folds; k++) {
    const train = all.filter((e) => e.fold !== k);
    const test = all.filter((e) => e.fold === k);
    if (test.length === 0 || train.length === 0) continue;
    const fit = fitRows(train, features, o);
    const rate = train.reduce((s, e) => s + e.label * e.weight, 0) / train.reduce((s, e) => s + e.weight, 0);
    for (const e of test) {
      model.push(lossOf(predict(fit, e.row), e.label));
      constant.push(lossOf(rate, e.label));
      labels.push(e.label);
    }
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  // Per-row differences: both predictors are scored on the same rows.
  const diffs = constant.map((c, i) => c - model[i]!);
  const improvement = mean(diffs);
  const half = (1.96 * Math.sqrt(mean(diffs.map((d) => (d - improvement) ** 2)))) / Math.sqrt(diffs.length);
  return {
    folds: o.folds,
    rows: labels.length,
    positives: labels.filter(Boolean).length,
    logLoss: mean(model),
    baselineLogLoss: mean(constant),
    improvement,
    improvementCi95: [improvement - half, improvement + half],
  };
}

/**
 * The drift baseline (worker/drift/baseline.ts): each feature's histogram and the fitted model's
 * score distribution over every scored candidate of the export, as serving counts them.
 */
function driftBaseline(features: string[], population: number[][], fit: Pick<FittedModel, "weights" | "bias">) {
  // Features whose column was never logged (declared after the export) get no histogram.
  if (!population.length || population[0]!.length !== features.length) return {};
  const histograms = Object.fromEntries(features.map((f, j) => [f, histogramOf(population.map((r) => r[j]!))]));
  return { histograms, scores: scoreHistogramOf(population.map((r) => predict(fit, r))) };
}

/** Trains on export lines and serialises the model. */
export async function trainFromExport(lines: AsyncIterable<ExportLine> | Iterable<ExportLine>, options: Partial<TrainerOptions> = {}): Promise<TrainResult> {
  const o = { ...DEFAULT_TRAINER_OPTIONS, ...options };
  const { features, examples: all, skipped, timeRange, population } = await examples(lines, o);
  const declared = new Set(Object.entries(o.declarations ?? {}).flatMap(([n, d]) => declaredColumns(n, d)));
  const unknown = features.filter((f) => !CATALOG_FEATURE_NAMES.includes(f) && !declared.has(f));
  if (unknown.length) throw new Error(`features neither in the feature catalog (models/README.md) nor declared (--declarations, docs/features.md), so the model could not be uploaded: ${unknown.join(", ")}`);
  if (all.length === 0) throw new Error(`no usable training rows (skipped: ${JSON.stringify(skipped)})`);
  const fit = fitRows(all, features, o);
  const round = (v: number) => Math.round(v * 1e6) / 1e6;
  const manifest: ModelManifest = {
    version: 1,
    name: o.name,
    features,
    ...(o.declarations ? { declarations: pickDeclarations(o.declarations, features) } : {}),
    ...(o.outcome ? { outcome: o.outcome } : {}),
    output: "probability",
    baseline: { mean: fit.baseline.mean.map(round), std: fit.baseline.std.map(round), ...driftBaseline(features, population, fit) },
    training: { from: timeRange.from, to: timeRange.to, rows: all.length },
  };
  // The Worker's own manifest schema: what it refuses at upload is refused here, before writing.
  const checked = manifestSchema.safeParse(manifest);
  if (!checked.success) throw new Error(`the manifest would be refused at upload: ${checked.error.issues.map((i) => `manifest.${i.path.join(".")}: ${i.message}`).join("; ")}`);
  const positives = all.filter((e) => e.label).length;
  const model = writeLinearModel({
    weights: fit.weights,
    bias: fit.bias,
    manifest,
    description: `logistic regression (${o.solver}${o.ips ? ", IPS-weighted" : ""}) on ${all.length} logged decisions, label ${o.label}, ${positives} positives; train log-loss ${fit.logLoss.toFixed(5)}`,
  });
  const crossValidation = o.folds > 1 ? crossValidate(all, features, o) : undefined;
  const rows = all.map((e) => e.row);
  const report = weightReport(features, fit.weights, rows, all.map((e) => e.label));
  return {
    model,
    manifest,
    fit,
    rows: all.length,
    positives,
    skipped,
    ...(crossValidation ? { crossValidation } : {}),
    weightReport: report,
    warnings: trainingWarnings(report, rows, crossValidation),
    timeRange,
  };
}

/** The declarations a feature list uses (a one-hot is kept whole: its columns share one definition). */
function pickDeclarations(declarations: Declarations, features: string[]): Declarations {
  const used = new Set(features.map((f) => f.split("=")[0]!));
  return Object.fromEntries(Object.entries(declarations).filter(([n]) => used.has(n)));
}
