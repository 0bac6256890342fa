import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { formatReport, trainingWarnings, weightReport, type TrainingWarning } from "../../models/diagnostics.ts";
import { exportLine, type ExportLine } from "../../models/export-format.ts";
import { mulberry32 } from "../../models/prng.ts";
import { HELP, main, parseTrainArgs } from "../../models/train.ts";
import { trainFromExport } from "../../models/trainer.ts";
import { readManifest } from "../../worker/ranking/manifest.ts";

const dir = mkdtempSync(join(tmpdir(), "nextbest-train-diag-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const T0 = 1_764_000_000_000;
const FEATURES = ["page_category_match", "utm_match", "block_promo"];

/**
 * Served candidates with a known click model on page_category_match; `utm_match` is non-zero in
 * `rareRows` rows only, all of them clicked (separation: its weight has nothing to stop it but
 * the L2 penalty). `signal` 0 makes clicks independent of every feature.
 */
function exportWith(n: number, { rareRows = 0, signal = 2, seed = 3 } = {}): ExportLine[] {
  const rand = mulberry32(seed);
  return Array.from({ length: n }, (_, i) => {
    const rare = i < rareRows ? 1 : 0;
    const features = [rand() < 0.4 ? 1 : 0, rare, rand() < 0.5 ? 1 : 0];
    const p = 1 / (1 + Math.exp(-(-3 + signal * features[0]!)));
    const click = rare ? 1 : rand() < p ? 1 : 0;
    return {
      decisionId: `diag-${seed}-${i}`,
      time: T0 + 1000 * i,
      visitorKey: `v-${i}`,
      slot: "hero",
      modelVersion: null,
      featureNames: FEATURES,
      candidates: [{ blockId: "b0", features, score: null }],
      chosenBlockId: "b0",
      propensity: 1,
      holdout: false,
      outcomes: { impression: 1, click, conversion: 0, value: 0 },
    };
  });
}

describe("npm run train --help", () => {
  it("prints the usage and how to read the output, exit 0", () => {
    const text = execFileSync(process.execPath, ["--import", "tsx", "models/train.ts", "--help"], { cwd: ROOT, encoding: "utf8" });
    expect(text).toContain("usage: npm run train -- --data FILE.jsonl --out MODEL.onnx");
    expect(text).toContain("rare_feature_large_weight");
    expect(parseTrainArgs(["-h"]).help).toBe(true);
  });
  it("main(--help) answers the same text and trains nothing", async () => {
    expect(await main(["--help"])).toEqual({ help: HELP });
  });
});

describe("what the trainer prints", () => {
  it("names every weight, records the export's time range in the manifest, and flags a rare feature with a large weight", async () => {
    const lines = exportWith(6000, { rareRows: 5 });
    const data = join(dir, "rare.jsonl");
    const out = join(dir, "rare.onnx");
    writeFileSync(data, lines.map(exportLine).join(""));
    let text = "";
    const summary = await main(["--data", data, "--out", out, "--l2", "0"], (t) => (text = t));

    const byName = summary.weightsByFeature as Record<string, number>;
    expect(Object.keys(byName)).toEqual(FEATURES);
    expect(byName.page_category_match).toBeCloseTo((summary.weights as number[])[0]!, 12);
    expect(byName.page_category_match).toBeGreaterThan(1);
    expect(summary.featureSupport).toContainEqual({ feature: "utm_match", nonZeroRows: 5, nonZeroShare: 5 / 6000, positivesWhenNonZero: 5 });

    const warnings = summary.warnings as TrainingWarning[];
    expect(warnings.filter((w) => w.code === "rare_feature_large_weight").map((w) => w.feature)).toEqual(["utm_match"]);
    expect(warnings[0]!.message).toMatch(/non-zero in only 5 of 6000 rows .*all of them positive.*separation/);
    expect(byName.utm_match).toBeGreaterThan(5);

    // The people-facing table names the features and explains the flag.
    expect(text).toMatch(/utm_match\s+\d+\.\d{4}\s+5 \(0\.083%\)\s+⚠/);
    expect(text).toContain("⚠ rare_feature_large_weight: weight");

    const manifest = readManifest(new Uint8Array(readFileSync(out)));
    expect(manifest.training).toEqual({ from: T0, to: T0 + 1000 * 5999, rows: 6000 });
    expect(summary.trainingRange).toEqual(manifest.training);
  });

  it("flags an improvement whose interval crosses 0 when clicks do not depend on the features", async () => {
    const result = await trainFromExport(exportWith(1500, { signal: 0, seed: 9 }));
    const codes = result.warnings.map((w) => w.code);
    expect(codes.some((c) => c === "improvement_crosses_zero" || c === "worse_than_constant")).toBe(true);
    expect(result.crossValidation!.improvementCi95[0]).toBeLessThanOrEqual(0);
    // With a real effect and enough rows: no warning at all.
    const good = await trainFromExport(exportWith(6000));
    expect(good.crossValidation!.improvementCi95[0]).toBeGreaterThan(0);
    expect(good.warnings).toEqual([]);
  });
});

describe("trainingWarnings (pure)", () => {
  const rows = (n: number, rare: number, value = 1) => Array.from({ length: n }, (_, i) => [i < rare ? value : 0, i % 2]);
  const labels = (n: number) => Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 1 : 0));
  it.each([
    { name: "large weight on a rare feature", w: [-41, 0.5], rare: 3, value: 1, cv: undefined, codes: ["rare_feature_large_weight"] },
    { name: "large weight on a common feature", w: [-41, 0.5], rare: 500, value: 1, cv: undefined, codes: [] },
    { name: "small weight on a rare feature", w: [2, 0.5], rare: 3, value: 1, cv: undefined, codes: [] },
    { name: "small weight, large values", w: [2, 0.5], rare: 3, value: 4, cv: undefined, codes: ["rare_feature_large_weight"] },
    { name: "interval above 0", w: [0.1, 0.1], rare: 500, value: 1, cv: { improvement: 0.01, improvementCi95: [0.005, 0.015] as [number, number] }, codes: [] },
    { name: "interval crossing 0", w: [0.1, 0.1], rare: 500, value: 1, cv: { improvement: 0.001, improvementCi95: [-0.001, 0.003] as [number, number] }, codes: ["improvement_crosses_zero"] },
    { name: "interval below 0", w: [0.1, 0.1], rare: 500, value: 1, cv: { improvement: -0.002, improvementCi95: [-0.003, -0.001] as [number, number] }, codes: ["worse_than_constant"] },
  ])("$name → $codes", ({ w, rare, value, cv, codes }) => {
    const r = rows(1000, rare, value);
    const report = weightReport(["x", "y"], w, r, labels(1000));
    expect(trainingWarnings(report, r, cv).map((x) => x.code)).toEqual(codes);
  });
  it("the table lists every feature with its weight", () => {
    const r = rows(10, 1);
    const text = formatReport(weightReport(["page_category_match", "utm_match"], [1.5, -41], r, labels(10)), -3, []);
    expect(text).toMatch(/page_category_match\s+1\.5000/);
    expect(text).toMatch(/utm_match\s+-41\.0000/);
    expect(text).toMatch(/\(bias\)\s+-3\.0000/);
  });
});
