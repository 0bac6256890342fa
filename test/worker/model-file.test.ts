import { describe, expect, it } from "vitest";
import defaultModel from "../../models/default.onnx";
import { FEATURE_NAMES } from "../../worker/ranking/features.ts";
import { readManifest } from "../../worker/ranking/manifest.ts";
import { readMetadataProps } from "../../worker/ranking/onnx-metadata.ts";
import { onnxScorer, scoresFromOutput } from "../../worker/ranking/scorer.ts";

const bytes = new Uint8Array(defaultModel);

describe("the default model", () => {
  it("carries its manifest in metadata_props", () => {
    expect(readMetadataProps(bytes).has("nextbest.manifest")).toBe(true);
    const manifest = readManifest(bytes);
    expect(manifest.name).toBe("nextbest-default");
    expect(manifest.output).toBe("probability");
    expect(manifest.features).toEqual(FEATURE_NAMES);
    expect(manifest.baseline?.mean).toHaveLength(manifest.features.length);
  });

  it("runs in onnxruntime-web inside workerd and gives probabilities", async () => {
    const scorer = await onnxScorer(bytes);
    const width = scorer.manifest.features.length;
    const rows = 50;
    const features = new Float32Array(rows * width).map((_, i) => (i % 7) / 7);
    const scores = await scorer.score(features, rows);
    expect(scores).toHaveLength(rows);
    for (const s of scores) expect(s > 0 && s < 1).toBe(true);
  });

  it("refuses bytes that are not a protobuf", () => {
    expect(() => readManifest(new Uint8Array([0xff, 0xff, 0xff]))).toThrow();
  });
});

describe("output shapes", () => {
  it.each([
    { dims: [3], data: [0.1, 0.2, 0.3], want: [0.1, 0.2, 0.3] },
    { dims: [3, 1], data: [0.1, 0.2, 0.3], want: [0.1, 0.2, 0.3] },
    { dims: [3, 2], data: [0.9, 0.1, 0.8, 0.2, 0.7, 0.3], want: [0.1, 0.2, 0.3] },
  ])("accepts $dims", ({ dims, data, want }) => {
    expect(Array.from(scoresFromOutput(new Float32Array(data), dims, 3))).toEqual(Array.from(new Float32Array(want)));
  });

  it.each([{ dims: [3, 3] }, { dims: [2] }, { dims: [3, 1, 1] }])("refuses $dims", ({ dims }) => {
    expect(() => scoresFromOutput(new Float32Array(9), dims, 3)).toThrow(/unexpected output shape/);
  });
});
