/**
 * Builds models/default.onnx from models/data/demo-traffic.csv: logistic regression over every
 * feature of the catalog, written as ONNX with its manifest. Byte-for-byte reproducible
 * (test/models/default-model.test.ts rebuilds it and compares).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import { fitLogistic, type TrainingSet } from "./logistic-regression.ts";
import { writeLinearModel } from "./onnx-writer.ts";

/** Training settings of the default model. */
export const DEFAULT_TRAINING = { iterations: 400, learningRate: 0.5, l2: 1e-4 };

/** Parses the CSV written by simulate-demo-traffic.ts (last column is the label). */
export function parseTrafficCsv(text: string): TrainingSet {
  const [header, ...lines] = text.trim().split("\n");
  const names = header!.split(",");
  const featureNames = names.slice(0, -1);
  const rows: number[][] = [];
  const labels: number[] = [];
  for (const line of lines) {
    const values = line.split(",").map(Number);
    labels.push(values.pop()!);
    rows.push(values);
  }
  return { featureNames, rows, labels };
}

/** Trains and serialises the default model from CSV text. */
export function buildDefaultModel(csv: string): Uint8Array {
  const data = parseTrafficCsv(csv);
  const fit = fitLogistic(data, DEFAULT_TRAINING);
  const round = (v: number) => Math.round(v * 1e6) / 1e6;
  return writeLinearModel({
    weights: fit.weights,
    bias: fit.bias,
    description: `logistic regression on ${data.rows.length} simulated impressions; train log-loss ${fit.logLoss.toFixed(4)}`,
    manifest: {
      version: 1,
      name: "nextbest-default",
      features: data.featureNames,
      output: "probability",
      baseline: { mean: fit.baseline.mean.map(round), std: fit.baseline.std.map(round) },
    },
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const csv = readFileSync(new URL("./data/demo-traffic.csv", import.meta.url), "utf8");
  const bytes = buildDefaultModel(csv);
  writeFileSync(new URL("./default.onnx", import.meta.url), bytes);
  const sha = createHash("sha256").update(bytes).digest("hex");
  console.log(`wrote models/default.onnx (${bytes.length} bytes, sha256 ${sha})`);
}
