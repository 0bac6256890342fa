import { describe, expect, it } from "vitest";
import { blockOnnx } from "../../scripts/adaptive-onnx.ts";
import type { AdaptiveExport } from "../../worker/adaptive/route.ts";
import { adaptiveFeatureNames, withIntercept } from "../../worker/adaptive/features.ts";
import { logitMoments, priorPosterior, sigmoid, updatePosterior } from "../../worker/adaptive/posterior.ts";
import { runOnnx, uploadChecks } from "./train-helpers.ts";

describe("adaptive state → ONNX (posterior mean per block)", () => {
  const names = adaptiveFeatureNames();
  const rows = [names.map((_, i) => (i % 3 === 0 ? 1 : 0)), names.map((_, i) => (i % 2 ? 0.5 : 0)), names.map(() => 0)];
  let post = priorPosterior(names.length + 1);
  rows.forEach((r, i) => (post = updatePosterior(post, withIntercept(r), i === 0 ? 1 : 0)));
  const state: AdaptiveExport = {
    format: "nextbest-adaptive-state/1",
    modelId: "a".repeat(64),
    version: "nextbest-adaptive@aaaaaaaaaaaa",
    revision: 7,
    updatedAt: 1,
    coefficients: ["(intercept)", ...names],
    prior: { interceptMean: -2.94, interceptVariance: 1, weightVariance: 1 },
    labelDelayMs: 600_000,
    blocks: [{ blockId: "hero-shoes-trail", n: 3, positives: 1, mean: post.mean, sd: post.precision.map((q) => 1 / Math.sqrt(q)), baseRate: sigmoid(post.mean[0]!) }],
  };

  it("passes the upload checks and computes σ(mean · x) in onnxruntime", async () => {
    const bytes = blockOnnx(state, "hero-shoes-trail");
    const checks = uploadChecks(bytes);
    expect(checks.reasons).toEqual([]);
    expect(checks.manifest).toMatchObject({ name: "nextbest-adaptive.hero-shoes-trail.r7", features: [...names], output: "probability" });
    const scores = await runOnnx(bytes, rows);
    rows.forEach((r, i) => expect(scores[i]!).toBeCloseTo(sigmoid(logitMoments(post, withIntercept(r)).mean), 5));
  });

  it("refuses a block without a posterior and a file that is not an export", () => {
    expect(() => blockOnnx(state, "hero-bags-travel")).toThrow(/no posterior/);
    expect(() => blockOnnx({ ...state, format: "x" as never }, "hero-shoes-trail")).toThrow(/not an adaptive state/);
  });
});
