/**
 * Exports the adaptive model's posterior mean as ONNX: one file per block, each a regular
 * nextbest model (the adaptive feature list, output = σ(mean · features + intercept)), written
 * with the same writer as `npm run train` (models/onnx-writer.ts), so a data scientist can
 * inspect it, evaluate it offline (POST /admin/models/:id/evaluate after uploading) or run it in
 * any ONNX runtime.
 *
 *   curl -s -H "authorization: Bearer $ADMIN_TOKEN" \
 *     http://127.0.0.1:8787/admin/models/<adaptive id>/adaptive > adaptive.json
 *   npm run adaptive:onnx -- adaptive.json out/       # out/<blockId>.onnx
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { writeLinearModel } from "../models/onnx-writer.ts";
import type { AdaptiveExport } from "../worker/adaptive/route.ts";

/** The ONNX bytes of one block's posterior mean. Throws for an unknown block or a malformed export. */
export function blockOnnx(state: AdaptiveExport, blockId: string): Uint8Array {
  if (state.format !== "nextbest-adaptive-state/1") throw new Error(`not an adaptive state export (format ${String(state.format)})`);
  const block = state.blocks.find((b) => b.blockId === blockId);
  if (!block) throw new Error(`no posterior for block ${blockId} (it has the prior: nothing learned yet)`);
  const features = state.coefficients.slice(1);
  return writeLinearModel({
    weights: block.mean.slice(1),
    bias: block.mean[0]!,
    manifest: { version: 1, name: `nextbest-adaptive.${blockId}.r${state.revision}`, features, output: "probability" },
    description: `Posterior mean of the nextbest adaptive model (${state.version}, revision ${state.revision}) for block ${blockId}: ${block.n} observations, ${block.positives} positive.`,
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const [input, out = "."] = process.argv.slice(2);
  if (!input) throw new Error("usage: npm run adaptive:onnx -- <state.json> [out-dir]");
  const state = JSON.parse(readFileSync(input, "utf8")) as AdaptiveExport;
  mkdirSync(out, { recursive: true });
  for (const b of state.blocks) {
    const file = join(out, `${b.blockId}.onnx`);
    writeFileSync(file, blockOnnx(state, b.blockId));
    console.log(`${file}: ${b.n} observations, base rate ${(100 * b.baseRate).toFixed(2)} %`);
  }
}
