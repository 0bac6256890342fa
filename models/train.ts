/**
 * `npm run train -- --data export.jsonl --out model.onnx [options]`: fits the reference
 * logistic-regression ranker on a training export and writes an uploadable ONNX file.
 * Prints a JSON summary (rows, positives, weights, cross-validated log-loss against the constant).
 */
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { readExport } from "./export-format.ts";
import { DEFAULT_TRAINER_OPTIONS, trainFromExport, type TrainerOptions } from "./trainer.ts";

const USAGE = `usage: npm run train -- --data FILE.jsonl --out MODEL.onnx
  [--label click|conversion]   what a positive is (default click)
  [--ips] [--max-weight N]     weight rows by 1/propensity, capped at N (default 100)
  [--features a,b,c]           model features in order (default: the export's featureNames)
  [--name NAME]                manifest name (default nextbest-trained)
  [--l2 X]                     L2 penalty on standardised weights (default 1e-4)
  [--folds K]                  K-fold cross-validated log-loss against the constant (default 5; 0: none)
  [--include-unseen]           keep decisions without a recorded impression
  [--solver newton|gd]         Newton's method (default) or gradient descent`;

/** Parses the command line into trainer options. */
export function parseTrainArgs(argv: string[]): { data: string; out: string; options: Partial<TrainerOptions> } {
  const { values } = parseArgs({
    args: argv,
    options: {
      data: { type: "string" },
      out: { type: "string" },
      label: { type: "string" },
      ips: { type: "boolean" },
      "max-weight": { type: "string" },
      features: { type: "string" },
      name: { type: "string" },
      l2: { type: "string" },
      folds: { type: "string" },
      "include-unseen": { type: "boolean" },
      solver: { type: "string" },
    },
  });
  if (!values.data || !values.out) throw new Error(USAGE);
  const num = (v: string | undefined, what: string, fallback: number) => {
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${what} must be a number ≥ 0`);
    return n;
  };
  const label = values.label ?? "click";
  if (label !== "click" && label !== "conversion") throw new Error("--label must be click or conversion");
  const solver = values.solver ?? "newton";
  if (solver !== "newton" && solver !== "gd") throw new Error("--solver must be newton or gd");
  const folds = num(values.folds, "folds", DEFAULT_TRAINER_OPTIONS.folds);
  if (!Number.isInteger(folds) || folds > 20) throw new Error("--folds must be a whole number up to 20");
  return {
    data: values.data,
    out: values.out,
    options: {
      label,
      ips: values.ips ?? false,
      maxWeight: num(values["max-weight"], "max-weight", DEFAULT_TRAINER_OPTIONS.maxWeight),
      ...(values.features ? { features: values.features.split(",").map((f) => f.trim()) } : {}),
      name: values.name ?? DEFAULT_TRAINER_OPTIONS.name,
      l2: num(values.l2, "l2", DEFAULT_TRAINER_OPTIONS.l2),
      folds,
      includeUnseen: values["include-unseen"] ?? false,
      solver,
    },
  };
}

/** Runs the CLI; returns the summary it prints. */
export async function main(argv: string[]): Promise<Record<string, unknown>> {
  const { data, out, options } = parseTrainArgs(argv);
  const result = await trainFromExport(readExport(data), options);
  writeFileSync(out, result.model);
  return {
    out,
    bytes: result.model.length,
    name: result.manifest.name,
    features: result.manifest.features,
    weights: result.fit.weights,
    bias: result.fit.bias,
    rows: result.rows,
    positives: result.positives,
    skipped: result.skipped,
    trainLogLoss: result.fit.logLoss,
    crossValidation: result.crossValidation ?? null,
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (summary) => console.log(JSON.stringify(summary, null, 2)),
    (err) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    },
  );
}
