/**
 * `npm run train -- --data export.jsonl --out model.onnx [options]`: fits the reference
 * logistic-regression ranker on a training export and writes an uploadable ONNX file.
 * Prints a JSON summary on stdout (rows, positives, weights by feature name, cross-validated
 * log-loss against the constant, warnings) and, on stderr, the weights as a table with every
 * warning explained (models/diagnostics.ts). `--help` prints the usage.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { declarationsSchema, type Declarations } from "../worker/ranking/declared.ts";
import { outcomeSchema } from "../worker/ranking/manifest.ts";
import { formatReport } from "./diagnostics.ts";
import { readExport } from "./export-format.ts";
import { DEFAULT_TRAINER_OPTIONS, trainFromExport, type TrainerOptions } from "./trainer.ts";

const USAGE = `usage: npm run train -- --data FILE.jsonl --out MODEL.onnx
  [--label click|conversion]   what a positive is (default click)
  [--ips] [--max-weight N]     weight rows by 1/propensity, capped at N (default 100)
  [--features a,b,c]           model features in order (default: the export's featureNames)
  [--declarations FILE.json]   declared features the model uses (docs/features.md), copied into its manifest
  [--outcome NAME]             what the model predicts (manifest outcome; default click)
  [--name NAME]                manifest name (default nextbest-trained)
  [--l2 X]                     L2 penalty on standardised weights (default 1e-4)
  [--folds K]                  K-fold cross-validated log-loss against the constant (default 5; 0: none)
  [--include-unseen]           keep decisions without a recorded impression
  [--solver newton|gd]         Newton's method (default) or gradient descent
  [--help]                     this text`;

/** `--help`: the usage and how to read what the trainer prints. */
export const HELP = `npm run train: fit the reference logistic-regression ranker on a training export
(GET /admin/export, one logged decision per line) and write an uploadable ONNX model.

${USAGE}

Output: a JSON summary on stdout; on stderr the weights by feature (log-odds per unit of the
feature, with how many rows had it non-zero) and warnings:
  rare_feature_large_weight  a large weight on a feature almost always 0: little evidence, maybe
                             separation; collect data, drop it (--features) or raise --l2
  improvement_crosses_zero   the 95% interval of the cross-validated improvement over the
                             constant includes 0: not shown to beat predicting the average
  worse_than_constant        the model predicts worse than the average rate: do not deploy
The manifest records the export's time range (training.from/to, epoch ms): off-policy
evaluation (POST /admin/models/:id/evaluate) warns when its window overlaps it.
See models/README.md, "Training a model".`;

/**
 * Reads a declarations file: either the manifest's `declarations` object or a whole manifest
 * carrying one. Validated by the Worker's schema (worker/ranking/declared.ts): one grammar.
 */
export function readDeclarations(path: string): Declarations {
  const json = JSON.parse(readFileSync(path, "utf8")) as { declarations?: unknown };
  const parsed = declarationsSchema.safeParse(json && typeof json === "object" && "declarations" in json ? json.declarations : json);
  if (!parsed.success) throw new Error(`--declarations ${path}: ${parsed.error.issues.map((i) => `${["declarations", ...i.path].join(".")}: ${i.message}`).join("; ")}`);
  return parsed.data;
}

/** Parses the command line into trainer options. */
export function parseTrainArgs(argv: string[]): { help?: true; data: string; out: string; options: Partial<TrainerOptions> } {
  const { values } = parseArgs({
    args: argv,
    options: {
      data: { type: "string" },
      out: { type: "string" },
      label: { type: "string" },
      ips: { type: "boolean" },
      "max-weight": { type: "string" },
      features: { type: "string" },
      declarations: { type: "string" },
      outcome: { type: "string" },
      name: { type: "string" },
      l2: { type: "string" },
      folds: { type: "string" },
      "include-unseen": { type: "boolean" },
      solver: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return { help: true, data: "", out: "", options: {} };
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
      ...(values.declarations ? { declarations: readDeclarations(values.declarations) } : {}),
      ...(values.outcome ? { outcome: outcomeSchema.parse(values.outcome) } : {}),
      name: values.name ?? DEFAULT_TRAINER_OPTIONS.name,
      l2: num(values.l2, "l2", DEFAULT_TRAINER_OPTIONS.l2),
      folds,
      includeUnseen: values["include-unseen"] ?? false,
      solver,
    },
  };
}

/**
 * Runs the CLI; returns the summary it prints on stdout (or `{ help }` for --help). `report`
 * receives the human-readable weights and warnings (stderr from the command line).
 */
export async function main(argv: string[], report: (text: string) => void = () => {}): Promise<Record<string, unknown>> {
  const { help, data, out, options } = parseTrainArgs(argv);
  if (help) return { help: HELP };
  const result = await trainFromExport(readExport(data), options);
  writeFileSync(out, result.model);
  report(formatReport(result.weightReport, result.fit.bias, result.warnings));
  return {
    out,
    bytes: result.model.length,
    name: result.manifest.name,
    features: result.manifest.features,
    weights: result.fit.weights,
    weightsByFeature: Object.fromEntries(result.weightReport.map((r) => [r.feature, r.weight])),
    featureSupport: result.weightReport.map(({ feature, nonZeroRows, nonZeroShare, positivesWhenNonZero }) => ({ feature, nonZeroRows, nonZeroShare, positivesWhenNonZero })),
    bias: result.fit.bias,
    trainingRange: result.manifest.training ?? null,
    rows: result.rows,
    positives: result.positives,
    skipped: result.skipped,
    trainLogLoss: result.fit.logLoss,
    crossValidation: result.crossValidation ?? null,
    warnings: result.warnings,
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2), (text) => console.error(text)).then(
    (summary) => console.log(typeof summary.help === "string" ? summary.help : JSON.stringify(summary, null, 2)),
    (err) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    },
  );
}
