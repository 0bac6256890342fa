// npm run train on features declared from the customer's traits (profile.<trait>, account.<trait>):
// the trainer validates them with the Worker's schema, writes them into the manifest, and serving
// recomputes the values the export logged from the same declarations.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { exportLine, type ExportLine } from "../../models/export-format.ts";
import { mulberry32 } from "../../models/prng.ts";
import { main } from "../../models/train.ts";
import type { Block } from "../../worker/catalog/schema.ts";
import type { Profile } from "../../worker/identity/schema.ts";
import { declarationsSchema } from "../../worker/ranking/declared.ts";
import { buildFeatureMatrix } from "../../worker/ranking/features.ts";
import { readManifest } from "../../worker/ranking/manifest.ts";
import { runOnnx, uploadChecks } from "./train-helpers.ts";

const dir = mkdtempSync(join(tmpdir(), "nextbest-train-traits-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const block = (id: string, tier: string): Block => ({ id, slots: ["hero"], category: "saas", tags: [], campaign: id, priority: 1, value: 1, html: "", attributes: { tier } });
const BLOCKS = [block("enterprise-demo", "enterprise"), block("self-serve", "smb")];
const DECLARATIONS = declarationsSchema.parse({
  same_tier: { kind: "block_match", signal: "account.tier", attribute: "attributes.tier" },
  plan: { kind: "one_hot", signal: "profile.plan", vocabulary: ["free", "pro"] },
  employees_log: { kind: "signal", signal: "account.employees", transforms: [{ op: "log1p" }] },
});
const FEATURES = ["same_tier", "plan=pro", "employees_log"];
const SPEC = { features: FEATURES, declarations: DECLARATIONS };

/** Logged traffic: an account's tier matching the block's drives clicks (a known logistic model). */
function simulate(n: number): { lines: ExportLine[]; traits: Profile[] } {
  const rand = mulberry32(7);
  const lines: ExportLine[] = [];
  const traits: Profile[] = [];
  for (let i = 0; i < n; i++) {
    const t: Profile = { profile: { plan: rand() < 0.5 ? "pro" : "free" }, account: { tier: rand() < 0.5 ? "enterprise" : "smb", employees: Math.floor(rand() * 5000) } };
    const matrix = buildFeatureMatrix(SPEC, {}, BLOCKS, 0, t);
    const rows = BLOCKS.map((_, r) => Array.from(matrix.subarray(r * FEATURES.length, (r + 1) * FEATURES.length)));
    const chosen = Math.floor(rand() * BLOCKS.length);
    const p = 1 / (1 + Math.exp(-(-2 + 2 * rows[chosen]![0]!)));
    traits.push(t);
    lines.push({
      decisionId: `t-${i}`,
      time: i,
      visitorKey: `v-${i}`,
      slot: "hero",
      modelVersion: "trait-logger@000000000000",
      featureNames: FEATURES,
      candidates: BLOCKS.map((b, r) => ({ blockId: b.id, features: rows[r]!, score: null })),
      chosenBlockId: BLOCKS[chosen]!.id,
      propensity: 0.5,
      holdout: false,
      outcomes: { impression: 1, click: rand() < p ? 1 : 0, conversion: 0, value: 0 },
    });
  }
  return { lines, traits };
}

describe("npm run train on trait features", () => {
  it("writes the trait declarations into an uploadable manifest; serving recomputes the logged values", async () => {
    const { lines, traits } = simulate(4000);
    const data = join(dir, "export.jsonl");
    const declarations = join(dir, "declarations.json");
    const out = join(dir, "traits.onnx");
    writeFileSync(data, lines.map(exportLine).join(""));
    writeFileSync(declarations, JSON.stringify(DECLARATIONS));
    const summary = await main(["--data", data, "--out", out, "--declarations", declarations, "--folds", "0"]);
    expect((summary.weightsByFeature as Record<string, number>).same_tier).toBeGreaterThan(1.2);
    const bytes = new Uint8Array(readFileSync(out));
    const manifest = readManifest(bytes);
    expect(manifest.declarations).toEqual(DECLARATIONS);
    expect(uploadChecks(bytes).reasons).toEqual([]);
    // The manifest alone (serving) recomputes what the export logged for the same traits.
    for (const i of [0, 1, 2]) {
      const m = buildFeatureMatrix(manifest, {}, BLOCKS, 0, traits[i]);
      expect(lines[i]!.candidates.flatMap((c) => c.features)).toEqual(Array.from(m));
    }
    const m = buildFeatureMatrix(manifest, {}, BLOCKS, 0, { profile: {}, account: { tier: "enterprise" } });
    const scores = await runOnnx(bytes, BLOCKS.map((_, r) => Array.from(m.subarray(r * FEATURES.length, (r + 1) * FEATURES.length))));
    expect(scores[0]!).toBeGreaterThan(scores[1]!);
  });

  it("refuses a trait that is not on the consent-safe list", async () => {
    const bad = join(dir, "bad.json");
    writeFileSync(bad, JSON.stringify({ x: { kind: "signal", signal: "profile.email" } }));
    const data = join(dir, "small.jsonl");
    writeFileSync(data, simulate(50).lines.map(exportLine).join(""));
    await expect(main(["--data", data, "--out", join(dir, "never.onnx"), "--folds", "0", "--declarations", bad])).rejects.toThrow(/profile\.<trait>/);
  });
});
