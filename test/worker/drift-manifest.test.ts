// Drift baselines in the model manifest: accepted at upload with their histograms, refused with
// 422 and the path when their shape is wrong; a model without them still uploads.
import { describe, expect, it } from "vitest";
import type { ModelManifest } from "../../worker/ranking/manifest.ts";
import type { ValidationReport } from "../../worker/models/report.ts";
import { manifestOf, matmulModel } from "./models-fixtures.ts";
import { upload } from "./models-helpers.ts";

const features = ["page_category_match", "scroll_depth"];
const deciles = Array.from({ length: 11 }, (_, i) => i / 10);
const good = {
  mean: [0.3, 0.5],
  std: [0.46, 0.29],
  histograms: {
    page_category_match: { kind: "categorical", values: [0, 1], proportions: [0.7, 0.3] },
    scroll_depth: { kind: "numeric", edges: deciles, proportions: new Array(10).fill(0.1) },
  },
  scores: { edges: [0, 0.2, 0.5, 1], proportions: [0.5, 0.3, 0.2] },
};

const withBaseline = (baseline: unknown, name: string) => matmulModel({ manifest: { ...manifestOf(features, "probability", name), baseline } as ModelManifest, width: 2, weights: [0.4, 0.3] });

describe("manifest drift baselines at upload", () => {
  it("accepts histograms and a score distribution, and keeps them in the manifest", async () => {
    const res = await upload(withBaseline(good, "drift-baseline-ok"));
    expect([200, 201]).toContain(res.status);
    const body = await res.json<{ report: ValidationReport & { manifest?: ModelManifest } }>();
    expect(body.report.ok).toBe(true);
  });

  it("still accepts a manifest without histograms", async () => {
    const res = await upload(withBaseline({ mean: [0.3, 0.5], std: [0.46, 0.29] }, "drift-baseline-plain"));
    expect([200, 201]).toContain(res.status);
  });

  it.each([
    ["proportions not summing to 1", { ...good, histograms: { scroll_depth: { kind: "numeric", edges: deciles, proportions: new Array(10).fill(0.2) } } }, /manifest\.baseline\.histograms\.scroll_depth\.proportions.*sum to 2/],
    ["edges not increasing", { ...good, histograms: { scroll_depth: { kind: "numeric", edges: [0, 0.5, 0.5, 1], proportions: [0.5, 0, 0.5] } } }, /manifest\.baseline\.histograms\.scroll_depth\.edges\.2.*strictly increasing/],
    ["one proportion per bin missing", { ...good, histograms: { scroll_depth: { kind: "numeric", edges: [0, 0.5, 1], proportions: [1] } } }, /manifest\.baseline\.histograms\.scroll_depth\.proportions.*3 edges make 2 bins/],
    ["an unknown kind", { ...good, histograms: { scroll_depth: { kind: "quantile", edges: [0, 1], proportions: [1] } } }, /manifest\.baseline\.histograms\.scroll_depth\.kind/],
    ["a histogram of a feature the model does not take", { ...good, histograms: { dwell_log: { kind: "categorical", values: [0], proportions: [1] } } }, /manifest\.baseline\.histograms\.dwell_log.*not one of the manifest's features/],
    ["a categorical value twice", { ...good, histograms: { page_category_match: { kind: "categorical", values: [1, 1], proportions: [0.5, 0.5] } } }, /manifest\.baseline\.histograms\.page_category_match\.values.*twice/],
    ["score edges without proportions", { ...good, scores: { edges: [0, 1] } }, /manifest\.baseline\.scores\.proportions/],
  ])("refuses %s with 422 and the path", async (_name, baseline, message) => {
    const res = await upload(withBaseline(baseline, `drift-baseline-bad-${_name.length}`));
    expect(res.status).toBe(422);
    const body = await res.json<{ error: { code: string; message: string }; report: ValidationReport }>();
    expect(body.error.code).toBe("unprocessable_model");
    expect(body.report.reasons.map((r) => r.code)).toContain("invalid_manifest");
    expect(body.error.message).toMatch(message);
  });
});
