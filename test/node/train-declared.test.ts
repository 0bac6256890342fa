import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { exportLine, type ExportLine } from "../../models/export-format.ts";
import { mulberry32 } from "../../models/prng.ts";
import { main } from "../../models/train.ts";
import type { Block } from "../../worker/catalog/schema.ts";
import { declarationsSchema } from "../../worker/ranking/declared.ts";
import { buildFeatureMatrix } from "../../worker/ranking/features.ts";
import { readManifest } from "../../worker/ranking/manifest.ts";
import { runOnnx, uploadChecks } from "./train-helpers.ts";

const dir = mkdtempSync(join(tmpdir(), "nextbest-train-declared-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const block = (id: string, category: string, tier: string): Block => ({ id, slots: ["hero"], category, tags: [], campaign: id, priority: 1, value: 1, html: "", attributes: { tier } });
const BLOCKS = [block("premium", "jackets", "gold"), block("basic", "jackets", "silver"), block("shoes", "shoes", "silver")];
const DECLARATIONS = declarationsSchema.parse({
  tier_match: { kind: "block_match", signal: "loyalty", attribute: "attributes.tier" },
  same_category: { kind: "block_match", signal: "pageCategory", attribute: "category" },
  cart_log: { kind: "signal", signal: "cartValue", transforms: [{ op: "clip", min: 0, max: 1000 }, { op: "log1p" }] },
  loyalty: { kind: "one_hot", signal: "loyalty", vocabulary: ["gold", "silver"] },
});
const FEATURES = ["tier_match", "same_category", "cart_log", "loyalty=gold"];
const SPEC = { features: FEATURES, declarations: DECLARATIONS };
const NOW = Date.UTC(2026, 10, 1);

/**
 * Logged traffic: the serving model computed the declared features (the shared implementation,
 * as the Worker does) and a uniform logging policy chose among three blocks. Clicks follow a
 * known logistic model: a block of the visitor's loyalty tier and of the page's category is
 * clicked far more often.
 */
function simulate(n: number): ExportLine[] {
  const rand = mulberry32(11);
  const lines: ExportLine[] = [];
  for (let i = 0; i < n; i++) {
    const signals = { loyalty: rand() < 0.4 ? "gold" : "silver", pageCategory: rand() < 0.5 ? "shoes" : "jackets", cartValue: Math.floor(rand() * 400) };
    const matrix = buildFeatureMatrix(SPEC, signals, BLOCKS, NOW + i);
    const rows = BLOCKS.map((_, r) => Array.from(matrix.subarray(r * FEATURES.length, (r + 1) * FEATURES.length)));
    const chosen = Math.floor(rand() * BLOCKS.length);
    const x = rows[chosen]!;
    const p = 1 / (1 + Math.exp(-(-3 + 1.8 * x[0]! + 1.2 * x[1]! + 0.1 * x[2]!)));
    lines.push({
      decisionId: `d-${i}`,
      time: NOW + i,
      visitorKey: `v-${i}`,
      slot: "hero",
      modelVersion: "declared-logger@000000000000",
      featureNames: FEATURES,
      candidates: BLOCKS.map((b, r) => ({ blockId: b.id, features: rows[r]!.map((v) => Math.fround(v)), score: null })),
      chosenBlockId: BLOCKS[chosen]!.id,
      propensity: 1 / BLOCKS.length,
      holdout: false,
      outcomes: { impression: 1, click: rand() < p ? 1 : 0, conversion: 0, value: 0 },
    });
  }
  return lines;
}

describe("npm run train on declared features", () => {
  it("copies the declarations into an uploadable manifest; the model ranks by them as the simulation says", async () => {
    const data = join(dir, "export.jsonl");
    const declarations = join(dir, "declarations.json");
    const out = join(dir, "declared.onnx");
    writeFileSync(data, simulate(20_000).map(exportLine).join(""));
    writeFileSync(declarations, JSON.stringify({ declarations: DECLARATIONS }));
    const summary = await main(["--data", data, "--out", out, "--declarations", declarations, "--outcome", "conversion", "--folds", "0"]);
    const weights = summary.weightsByFeature as Record<string, number>;
    expect(weights.tier_match).toBeGreaterThan(1.2);
    expect(weights.same_category).toBeGreaterThan(0.7);

    const bytes = new Uint8Array(readFileSync(out));
    const manifest = readManifest(bytes);
    expect(manifest.declarations).toEqual(DECLARATIONS);
    expect(manifest.outcome).toBe("conversion");
    expect(uploadChecks(bytes).reasons).toEqual([]);

    // Serving computes the features from the manifest alone, with the same code.
    const rank = async (signals: Record<string, unknown>) => {
      const m = buildFeatureMatrix(manifest, signals, BLOCKS, NOW);
      const rows = BLOCKS.map((_, r) => Array.from(m.subarray(r * FEATURES.length, (r + 1) * FEATURES.length)));
      const scores = await runOnnx(bytes, rows);
      return BLOCKS.map((b, i) => [b.id, scores[i]!] as const).sort((a, b) => b[1] - a[1]).map(([id]) => id);
    };
    expect((await rank({ loyalty: "gold", pageCategory: "jackets", cartValue: 50 }))[0]).toBe("premium");
    expect((await rank({ loyalty: "silver", pageCategory: "jackets", cartValue: 50 }))[0]).toBe("basic");
    expect((await rank({ loyalty: "silver", pageCategory: "shoes", cartValue: 50 }))[0]).toBe("shoes");
  });

  it.each([
    ["a feature neither catalogued nor declared", ["--features", "tier_match,mystery"], /mystery/],
    ["a bad declarations file", ["--declarations-bad"], /declarations\.x\.transforms\.0\.op/],
  ])("refuses %s before writing a model", async (_, extra, message) => {
    const data = join(dir, "small.jsonl");
    writeFileSync(data, simulate(200).map(exportLine).join(""));
    const good = join(dir, "good.json");
    const bad = join(dir, "bad.json");
    writeFileSync(good, JSON.stringify(DECLARATIONS));
    writeFileSync(bad, JSON.stringify({ x: { kind: "signal", signal: "a", transforms: [{ op: "sqrt" }] } }));
    const args = extra[0] === "--declarations-bad" ? ["--declarations", bad] : ["--declarations", good, ...extra];
    await expect(main(["--data", data, "--out", join(dir, "never.onnx"), "--folds", "0", ...args])).rejects.toThrow(message);
  });
});

describe("the demo churn model", () => {
  it("is rebuilt byte for byte by npm run model:churn, passes the upload checks and predicts churn from declared features", async () => {
    const { buildChurnModel } = await import("../../models/build-churn-model.ts");
    const bytes = buildChurnModel();
    expect(Buffer.from(bytes).equals(readFileSync(new URL("../../models/churn-demo.onnx", import.meta.url)))).toBe(true);
    expect(uploadChecks(bytes).reasons).toEqual([]);
    const manifest = readManifest(bytes);
    expect(manifest.outcome).toBe("churn");
    const day = 86_400_000;
    const m = buildFeatureMatrix(manifest, { lastOrderAt: NOW - 180 * day, ordersCount: 1 }, BLOCKS.slice(0, 1), NOW);
    const [p] = await runOnnx(bytes, [Array.from(m)]);
    expect(p).toBeCloseTo(1 / (1 + Math.exp(-(-2.5 + 0.03 * 180 - 0.8 * Math.log1p(1)))), 5);
  });
});
