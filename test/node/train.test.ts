import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { exportLine, parseExportLine, type ExportLine } from "../../models/export-format.ts";
import { fitLogistic } from "../../models/logistic-regression.ts";
import { fitLogisticNewton } from "../../models/newton-logistic.ts";
import { mulberry32 } from "../../models/prng.ts";
import { main, parseTrainArgs } from "../../models/train.ts";
import { predict, trainFromExport } from "../../models/trainer.ts";
import { readManifest } from "../../worker/ranking/manifest.ts";
import { runOnnx, uploadChecks } from "./train-helpers.ts";

const dir = mkdtempSync(join(tmpdir(), "nextbest-train-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const FEATURES = ["page_category_match", "category_affinity", "block_promo"];
const TRUTH = { bias: -3, weights: [1.5, 2, -0.5] };

/**
 * A synthetic export with a known click model: the logging policy serves the first of four
 * candidates with probability 0.7 (the rest 0.1 each), so propensities vary.
 */
function syntheticExport(n: number, seed = 7): ExportLine[] {
  const rand = mulberry32(seed);
  const lines: ExportLine[] = [];
  for (let i = 0; i < n; i++) {
    const candidates = [0, 1, 2, 3].map((k) => ({
      blockId: `b${k}`,
      features: [rand() < 0.3 ? 1 : 0, Math.round(rand() * 100) / 100, rand() < 0.5 ? 1 : 0],
      score: null,
    }));
    const u = rand();
    const chosen = u < 0.7 ? 0 : 1 + Math.floor((u - 0.7) / 0.1);
    const x = candidates[chosen]!.features;
    const p = 1 / (1 + Math.exp(-(TRUTH.bias + TRUTH.weights.reduce((s, w, j) => s + w * x[j]!, 0))));
    lines.push({
      decisionId: `d-${i}`,
      time: 1_764_000_000_000 + i,
      visitorKey: `v-${i % 500}`,
      slot: "hero",
      modelVersion: "logging@000000000000",
      featureNames: FEATURES,
      candidates,
      chosenBlockId: `b${chosen}`,
      propensity: chosen === 0 ? 0.7 : 0.1,
      holdout: false,
      outcomes: { impression: 1, click: rand() < p ? 1 : 0, conversion: 0, value: 0 },
    });
  }
  return lines;
}

describe("Newton logistic regression", () => {
  it("recovers known weights, where gradient descent from zero has not converged for rare events", () => {
    const rand = mulberry32(3);
    const rows: number[][] = [];
    const labels: number[] = [];
    for (let i = 0; i < 20_000; i++) {
      const x = [rand() < 0.5 ? 1 : 0, rand() * 2];
      rows.push(x);
      labels.push(rand() < 1 / (1 + Math.exp(-(-5 + 1.2 * x[0]! + 0.8 * x[1]!))) ? 1 : 0);
    }
    const data = { featureNames: ["a", "b"], rows, labels };
    const newton = fitLogisticNewton(data, { l2: 0 });
    expect(newton.bias).toBeCloseTo(-5, 0);
    expect(newton.weights[0]).toBeCloseTo(1.2, 0);
    expect(newton.weights[1]).toBeCloseTo(0.8, 0);
    const gd = fitLogistic(data, { iterations: 400, learningRate: 0.5, l2: 0 });
    expect(newton.logLoss).toBeLessThan(gd.logLoss);
  });
});

describe("the reference trainer", () => {
  it("npm run train: export file in, uploadable ONNX out, better than the constant under cross-validation", async () => {
    const data = join(dir, "synthetic.jsonl");
    const out = join(dir, "synthetic.onnx");
    writeFileSync(data, syntheticExport(8_000).map(exportLine).join(""));
    const summary = await main(["--data", data, "--out", out, "--name", "synthetic", "--ips"]);
    const bytes = new Uint8Array(readFileSync(out));

    // The manifest travels in the file and the upload checks accept it.
    const manifest = readManifest(bytes);
    expect(manifest).toMatchObject({ version: 1, name: "synthetic", features: FEATURES, output: "probability" });
    expect(manifest.baseline!.mean).toHaveLength(3);
    // Drift baselines over every scored candidate: flags are categorical, the 0.01 grid deciles.
    const h = manifest.baseline!.histograms!;
    expect(h.page_category_match).toMatchObject({ kind: "categorical", values: [0, 1] });
    expect(h.page_category_match!.proportions[1]).toBeCloseTo(0.3, 1);
    expect(h[FEATURES[1]!]).toMatchObject({ kind: "numeric" });
    expect((h[FEATURES[1]!] as { edges: number[] }).edges).toHaveLength(11);
    expect(manifest.baseline!.scores!.proportions.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    expect(uploadChecks(bytes).reasons).toEqual([]);

    // onnxruntime computes what the fitted weights say.
    const rows = [[0, 0, 0], [1, 0.5, 1], [1, 1, 0]];
    const scores = await runOnnx(bytes, rows);
    const fit = { weights: summary.weights as number[], bias: summary.bias as number };
    rows.forEach((r, i) => expect(scores[i]).toBeCloseTo(predict(fit, r), 5));

    // The known effects are recovered, IPS-weighted, and the model beats the constant.
    expect(fit.weights[0]).toBeGreaterThan(1);
    expect(fit.weights[1]).toBeGreaterThan(1);
    const cv = summary.crossValidation as { logLoss: number; baselineLogLoss: number; improvementCi95: [number, number]; rows: number };
    expect(cv.rows).toBe(8_000);
    expect(cv.logLoss).toBeLessThan(cv.baselineLogLoss);
    expect(cv.improvementCi95[0]).toBeGreaterThan(0);
  });

  it("trains on the served candidate with the chosen label and skips what it cannot use", async () => {
    const base = syntheticExport(400, 11);
    const odd: ExportLine[] = [
      { ...base[0]!, decisionId: "holdout", holdout: true },
      { ...base[1]!, decisionId: "unseen", outcomes: { impression: 0, click: 0, conversion: 0, value: 0 } },
      { ...base[2]!, decisionId: "unscored", candidates: base[2]!.candidates.map((c) => ({ ...c, features: [] })) },
      { ...base[3]!, decisionId: "no-propensity", propensity: null },
    ];
    const result = await trainFromExport([...base.slice(4), ...odd], { ips: true, folds: 0, label: "conversion" });
    expect(result.skipped).toEqual({
      "holdout (default block, no model)": 1,
      "no impression recorded": 1,
      "no features for the served block": 1,
      "no propensity (needed by --ips)": 1,
    });
    expect(result.rows).toBe(396);
    expect(result.positives).toBe(0); // no conversions in the synthetic export
    expect(result.crossValidation).toBeUndefined();
  });

  it("refuses features outside the catalog, since the model could not be uploaded", async () => {
    const lines = syntheticExport(50).map((l) => ({ ...l, featureNames: ["page_category_match", "favourite_colour", "block_promo"] }));
    await expect(trainFromExport(lines)).rejects.toThrow(/favourite_colour/);
  });

  it.each([
    { name: "no --data", argv: ["--out", "m.onnx"], error: /usage/ },
    { name: "--label revenue", argv: ["--data", "d", "--out", "m", "--label", "revenue"], error: /click or conversion/ },
    { name: "--folds 2.5", argv: ["--data", "d", "--out", "m", "--folds", "2.5"], error: /whole number/ },
    { name: "--l2=-1", argv: ["--data", "d", "--out", "m", "--l2=-1"], error: /≥ 0/ },
    { name: "--solver adam", argv: ["--data", "d", "--out", "m", "--solver", "adam"], error: /newton or gd/ },
  ])("refuses $name", ({ argv, error }) => {
    expect(() => parseTrainArgs(argv)).toThrow(error);
  });

  it("reads the export line format and names the line of a bad one", () => {
    const line = syntheticExport(1)[0]!;
    expect(parseExportLine(exportLine(line), 1)).toEqual(line);
    expect(() => parseExportLine(JSON.stringify({ ...line, propensity: 2 }), 7)).toThrow(/line 7: propensity/);
    expect(() => parseExportLine("{", 3)).toThrow(/line 3: not JSON/);
  });
});
