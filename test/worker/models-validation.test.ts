import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import defaultModel from "../../models/default.onnx";
import { builtinId } from "../../worker/models/builtin.ts";
import { inspectOnnx } from "../../worker/models/onnx-inspect.ts";
import { modelKey } from "../../worker/models/registry.ts";
import type { ValidationReport } from "../../worker/models/report.ts";
import { syntheticBatch, validateModel, type Clock } from "../../worker/models/validate.ts";
import { buildModel, floats, linearModel, manifestOf, matmulModel, onnx, sklearnClassifier, T, tensor } from "./models-fixtures.ts";
import { adminOk, heroFor, treatedVisitors, upload, uploadOk } from "./models-helpers.ts";

const two = ["page_category_match", "block_promo"];
const good = linearModel(two, [1, 0.5], -1);
const m2 = manifestOf(two);

/** One bad model per refusal reason, each built here with onnx-proto. */
const badModels: Array<{ name: string; bytes: () => Uint8Array; code: string; hint: RegExp }> = [
  { name: "JSON instead of ONNX", bytes: () => new TextEncoder().encode('{"model": "logreg"}'), code: "not_onnx", hint: /not protobuf/ },
  { name: "protobuf that is not a model", bytes: () => onnx.TensorProto.encode(T.create({ dims: [1], dataType: 1, floatData: [1] })).finish(), code: "not_onnx", hint: /no graph/ },
  { name: "a truncated file", bytes: () => good.slice(0, Math.floor(good.length * 0.6)), code: "truncated", hint: /complete \.onnx/ },
  { name: "no manifest", bytes: () => matmulModel({ manifest: null, width: 2 }), code: "no_manifest", hint: /set_model_props/ },
  { name: "a manifest that is not JSON", bytes: () => matmulModel({ manifest: "{features: [", width: 2 }), code: "invalid_manifest", hint: /not JSON/ },
  { name: "a feature not in the catalog", bytes: () => matmulModel({ manifest: manifestOf(["page_category_match", "favourite_colour"]), width: 2 }), code: "unknown_feature", hint: /favourite_colour/ },
  { name: "F ≠ the manifest's count", bytes: () => matmulModel({ manifest: manifestOf([...two, "block_default"]), width: 2 }), code: "feature_count_mismatch", hint: /takes 2 features but the manifest names 3/ },
  { name: "a ZipMap output (sequence of maps)", bytes: () => sklearnClassifier(two, [1, 1], 0, { zipmap: true }), code: "zipmap_output", hint: /zipmap=False/ },
  { name: "int64 labels only", bytes: () => sklearnClassifier(two, [1, 1], 0, { labelOnly: true }), code: "label_only_output", hint: /probabilities/ },
  {
    name: "two inputs",
    bytes: () =>
      buildModel({
        manifest: m2,
        nodes: [
          { opType: "Concat", input: ["a", "b"], output: ["features"], attribute: [{ name: "axis", type: onnx.AttributeProto.AttributeType.INT, i: 1 }] },
          { opType: "MatMul", input: ["features", "W"], output: ["score"] },
        ],
        initializers: [floats("W", [2, 1], [1, 1])],
        inputs: [tensor("a", ["N", 1]), tensor("b", ["N", 1])],
        outputs: [tensor("score", ["N", 1])],
      }),
    code: "several_inputs",
    hint: /single input/,
  },
  { name: "an extra dynamic input dimension", bytes: () => matmulModel({ manifest: m2, width: 2, input: tensor("features", ["N", 2, "T"]) }), code: "extra_dims", hint: /rank 2/ },
  { name: "an extra dynamic output dimension", bytes: () => matmulModel({ manifest: m2, width: 2, output: tensor("score", ["N", 1, "K"]) }), code: "extra_dims", hint: /squeeze/ },
  { name: "a fixed batch of 1 (torch.onnx.export without dynamic_axes)", bytes: () => matmulModel({ manifest: m2, width: 2, input: tensor("features", [1, 2]) }), code: "input_shape", hint: /dynamic_axes/ },
  { name: "a float64 input", bytes: () => matmulModel({ manifest: m2, width: 2, input: tensor("features", ["N", 2], T.DataType.DOUBLE) }), code: "input_type", hint: /FloatTensorType/ },
  { name: "three classes", bytes: () => matmulModel({ manifest: m2, width: 2, output: tensor("score", ["N", 3]) }), code: "output_shape", hint: /binary class probabilities/ },
  {
    name: "external data",
    bytes: () => buildExternal(),
    code: "external_data",
    hint: /save_as_external_data=False/,
  },
  {
    name: "an operator outside the standard domains",
    bytes: () =>
      buildModel({
        manifest: m2,
        nodes: [{ opType: "Magic", domain: "com.example.custom", input: ["features"], output: ["score"] }],
        inputs: [tensor("features", ["N", 2])],
        outputs: [tensor("score", ["N", 1])],
        opsets: [{ domain: "", version: 13 }, { domain: "com.example.custom", version: 1 }],
      }),
    code: "unknown_domain",
    hint: /com\.example\.custom/,
  },
  {
    name: "a huge declared initializer",
    bytes: () =>
      buildModel({
        manifest: m2,
        nodes: [{ opType: "MatMul", input: ["features", "W"], output: ["score"] }],
        initializers: [T.create({ name: "W", dims: [100_000, 100_000], dataType: T.DataType.FLOAT, rawData: new Uint8Array(8) })],
        inputs: [tensor("features", ["N", 2])],
        outputs: [tensor("score", ["N", 1])],
      }),
    code: "tensor_too_large",
    hint: /declares 10000000000 elements/,
  },
  {
    name: "a huge tensor built by ConstantOfShape",
    bytes: () =>
      buildModel({
        manifest: m2,
        nodes: [
          { opType: "ConstantOfShape", input: ["shape"], output: ["big"] },
          { opType: "ReduceSum", input: ["big"], output: ["total"] },
          { opType: "MatMul", input: ["features", "W"], output: ["z"] },
          { opType: "Add", input: ["z", "total"], output: ["score"] },
        ],
        initializers: [T.create({ name: "shape", dims: [2], dataType: T.DataType.INT64, int64Data: [50_000, 50_000] }), floats("W", [2, 1], [1, 1])],
        inputs: [tensor("features", ["N", 2])],
        outputs: [tensor("score", ["N", 1])],
      }),
    code: "tensor_too_large",
    hint: /ConstantOfShape would build/,
  },
  {
    name: "an initializer whose data does not match its shape",
    bytes: () =>
      buildModel({
        manifest: m2,
        nodes: [{ opType: "MatMul", input: ["features", "W"], output: ["score"] }],
        initializers: [floats("W", [2, 1], [1])],
        inputs: [tensor("features", ["N", 2])],
        outputs: [tensor("score", ["N", 1])],
      }),
    code: "tensor_data_mismatch",
    hint: /declares 2 elements but stores 1/,
  },
  {
    name: "an output type nested 50 deep",
    bytes: () => {
      let type = onnx.TypeProto.create({ tensorType: { elemType: T.DataType.FLOAT } });
      for (let i = 0; i < 50; i++) type = onnx.TypeProto.create({ sequenceType: { elemType: type } });
      const deep = onnx.ValueInfoProto.create({ name: "score", type });
      return buildModel({ manifest: m2, nodes: [{ opType: "Identity", input: ["features"], output: ["score"] }], inputs: [tensor("features", ["N", 2])], outputs: [deep] });
    },
    code: "too_complex",
    hint: /nested more than 8 deep/,
  },
  { name: "an operator onnxruntime does not know", bytes: () => buildModel({ manifest: m2, nodes: [{ opType: "NoSuchOperator", input: ["features"], output: ["score"] }], inputs: [tensor("features", ["N", 2])], outputs: [tensor("score", ["N", 1])] }), code: "runtime_error", hint: /onnxruntime could not load/ },
  { name: "non-finite outputs", bytes: () => matmulModel({ manifest: m2, width: 2, bias: Number.NaN }), code: "non_finite_output", hint: /must be finite/ },
  { name: "a probability outside [0, 1]", bytes: () => matmulModel({ manifest: m2, width: 2, weights: [5, 5], bias: 3, sigmoid: false }), code: "output_out_of_range", hint: /Sigmoid/ },
];

function buildExternal(): Uint8Array {
  const w = T.create({
    name: "W",
    dims: [2, 1],
    dataType: T.DataType.FLOAT,
    dataLocation: T.DataLocation.EXTERNAL,
    externalData: [onnx.StringStringEntryProto.create({ key: "location", value: "weights.bin" }), onnx.StringStringEntryProto.create({ key: "length", value: "8" })],
  });
  return buildModel({ manifest: m2, nodes: [{ opType: "MatMul", input: ["features", "W"], output: ["score"] }], initializers: [w], inputs: [tensor("features", ["N", 2])], outputs: [tensor("score", ["N", 1])] });
}

async function sha256(bytes: Uint8Array): Promise<string> {
  return [...new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))].map((b) => b.toString(16).padStart(2, "0")).join("");
}

describe("POST /admin/models refuses bad models with 422 and the reason", () => {
  const visitors = treatedVisitors("refused", badModels.length);

  it.each(badModels.map((m, i) => ({ ...m, visitor: visitors[i]! })))("$name → $code", async ({ bytes, code, hint, visitor }) => {
    const model = bytes();
    const res = await upload(model);
    expect(res.status).toBe(422);
    const body = await res.json<{ error: { code: string; message: string }; report: ValidationReport }>();
    expect(body.error.code).toBe("unprocessable_model");
    expect(body.report.ok).toBe(false);
    expect(body.report.reasons.map((r) => r.code)).toContain(code);
    expect(body.error.message).toMatch(hint);
    // Nothing stored, the champion unchanged, and the Worker still ranks with it.
    const id = await sha256(model);
    expect(await env.MODELS.head(modelKey(id))).toBeNull();
    const { deployment, models } = await adminOk<{ deployment: { champion: { id: string } }; models: Array<{ id: string }> }>("");
    expect(deployment.champion.id).toBe(await builtinId());
    expect(models.map((m) => m.id)).not.toContain(id);
    const hero = await heroFor(visitor);
    expect(hero).toMatchObject({ reason: "ranked", block: { id: "hero-shoes-trail" } });
    expect(hero.modelVersion).toMatch(/^nextbest-default@/);
  });

  it("refuses an empty body with 400", async () => {
    const res = await upload(new Uint8Array(0));
    expect(res.status).toBe(400);
  });
});

describe("exporters' shapes that fit the contract are accepted", () => {
  it.each([
    { name: "skl2onnx classifier with zipmap=False (label + probabilities [N, 2])", bytes: () => sklearnClassifier(two, [1, -1], 0.5), output: "probabilities", column: "positive class" },
    { name: "a score [N] (e.g. a regressor)", bytes: () => matmulModel({ manifest: manifestOf(two, "score"), width: 2, sigmoid: false, weights: [3, 4], vector: true, output: tensor("score", ["N"]) }), output: "score", column: "only" },
    { name: "a [N, 1] output with a dynamic second dimension", bytes: () => matmulModel({ manifest: m2, width: 2, output: tensor("score", ["N", "one"]) }), output: "score", column: "only" },
    { name: "the shipped default model", bytes: () => new Uint8Array(defaultModel), output: "score", column: "only" },
  ])("$name", async ({ bytes, output, column }) => {
    // A generous budget: this checks the shapes, not speed (the too_slow test below uses a fake clock).
    const { report } = await validateModel(bytes(), { latencyBudgetMs: 1_000 });
    expect(report.reasons).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.scoreOutput).toMatchObject({ name: output, column });
    // The measured inference: 100 candidates, finite, within budget.
    expect(report.inference).toMatchObject({ candidates: 100, runs: 20, budgetMs: 1_000 });
    expect(report.inference!.meanMs).toBeLessThanOrEqual(1_000);
    expect(Number.isFinite(report.inference!.min) && Number.isFinite(report.inference!.max)).toBe(true);
  });

  it("serves an skl2onnx classifier by its positive-class probability", async () => {
    // Coefficient −10 on page_category_match: on the shoes page the shoes block is the worst,
    // every other hero block gets p = sigmoid(0) = 0.5 and arbitration (p × value) picks the
    // most valuable one, hero-jackets-rain (value 80).
    const { id, version } = await uploadOk(sklearnClassifier(["page_category_match"], [-10], 0));
    await adminOk(`/${id}/activate`, "POST");
    const [visitor] = treatedVisitors("sklearn", 1);
    const hero = await heroFor(visitor!);
    expect(hero).toMatchObject({ modelVersion: version, reason: "ranked", block: { id: "hero-jackets-rain" } });
    expect(hero.score).toBeCloseTo(0.5, 5);
    await adminOk("/rollback", "POST");
  });
});

describe("the validation report's limits", () => {
  it("refuses a model slower than the latency budget (fake clock: 10 ms per reading)", async () => {
    let t = 0;
    const clock: Clock = { now: () => (t += 10), settle: async () => undefined };
    const { report } = await validateModel(good, { latencyBudgetMs: 5, clock });
    expect(report.reasons.map((r) => r.code)).toEqual(["too_slow"]);
    expect(report.inference!.meanMs).toBeGreaterThan(5);
  });

  it("never hands structurally refused bytes to onnxruntime", async () => {
    let created = 0;
    const createSession = async () => {
      created++;
      throw new Error("must not be called");
    };
    for (const m of badModels.filter((b) => !["runtime_error", "non_finite_output", "output_out_of_range"].includes(b.code))) {
      await validateModel(m.bytes(), { latencyBudgetMs: 5, createSession });
    }
    expect(created).toBe(0);
  });

  it("feeds a deterministic synthetic batch around the manifest's baseline", () => {
    const manifest = { ...m2, baseline: { mean: [10, -3], std: [1, 0.5] } };
    const a = syntheticBatch(manifest, 100);
    expect(a).toEqual(syntheticBatch(manifest, 100));
    expect([...a.slice(0, 4)]).toEqual([0, 0, 1, 1]);
    for (let i = 2; i < 100; i++) {
      expect(a[i * 2]!).toBeGreaterThanOrEqual(8);
      expect(a[i * 2]!).toBeLessThanOrEqual(12);
    }
  });

  it("reads the default model's structure on the wire", () => {
    const { summary, reasons } = inspectOnnx(new Uint8Array(defaultModel));
    expect(reasons).toEqual([]);
    expect(summary).toMatchObject({ irVersion: 8, operators: ["Add", "MatMul", "Sigmoid"], nodes: 3, parameters: 17 });
    expect(summary!.inputs).toEqual([{ name: "features", type: { kind: "tensor", elemType: 1, dims: ["N", 16] } }]);
  });
});
