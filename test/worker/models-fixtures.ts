/**
 * ONNX files built by the tests themselves with the onnx-proto protobuf classes (they encode
 * without eval, so they run inside workerd): good models in the shapes common exporters write,
 * and one bad model per refusal reason.
 */
import onnxProto from "onnx-proto";
import type { ModelManifest } from "../../worker/ranking/manifest.ts";

const { onnx } = onnxProto;
const T = onnx.TensorProto;

// protobufjs encodes strings of 40+ characters with Buffer#utf8Write(string, offset), relying on
// node's default length (the rest of the buffer); workerd's Buffer takes the whole buffer's
// length and throws. The base Writer (Uint8Array, protobufjs' own UTF-8 code) has no such call.
type WriterClass = new () => Parameters<typeof onnx.ModelProto.encode>[1];
const PlainWriter = Object.getPrototypeOf(Object.getPrototypeOf(onnx.ModelProto.encode(onnx.ModelProto.create()))).constructor as WriterClass;
type Dim = number | string;

/** A tensor type, e.g. tensor("x", ["N", 2]); elem defaults to float32. */
export function tensor(name: string, dims: Dim[] | null, elem: number = T.DataType.FLOAT) {
  return onnx.ValueInfoProto.create({
    name,
    type: onnx.TypeProto.create({
      tensorType: onnx.TypeProto.Tensor.create({
        elemType: elem,
        ...(dims ? { shape: onnx.TensorShapeProto.create({ dim: dims.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) }) } : {}),
      }),
    }),
  });
}

/** skl2onnx's ZipMap output type: a sequence of maps int64 → float. */
export function zipmapType(name: string) {
  return onnx.ValueInfoProto.create({
    name,
    type: onnx.TypeProto.create({
      sequenceType: onnx.TypeProto.Sequence.create({
        elemType: onnx.TypeProto.create({
          mapType: onnx.TypeProto.Map.create({ keyType: T.DataType.INT64, valueType: onnx.TypeProto.create({ tensorType: { elemType: T.DataType.FLOAT } }) }),
        }),
      }),
    }),
  });
}

/** A float32 initializer. */
export function floats(name: string, dims: number[], values: number[]) {
  return T.create({ name, dims, dataType: T.DataType.FLOAT, rawData: new Uint8Array(new Float32Array(values).buffer) });
}

export interface GraphSpec {
  manifest?: ModelManifest | string | null;
  nodes: Array<Record<string, unknown>>;
  initializers?: unknown[];
  inputs: unknown[];
  outputs: unknown[];
  opsets?: Array<{ domain: string; version: number }>;
}

/** Serialises a model from a graph spec; the manifest goes into metadata_props. */
export function buildModel(spec: GraphSpec): Uint8Array {
  const manifest = spec.manifest === undefined ? null : spec.manifest;
  return onnx.ModelProto.encode(
    onnx.ModelProto.create({
      irVersion: 8,
      producerName: "nextbest-tests",
      opsetImport: (spec.opsets ?? [{ domain: "", version: 13 }]).map((o) => onnx.OperatorSetIdProto.create(o)),
      graph: onnx.GraphProto.create({
        name: "test",
        node: spec.nodes.map((n) => onnx.NodeProto.create(n)),
        initializer: (spec.initializers ?? []) as never[],
        input: spec.inputs as never[],
        output: spec.outputs as never[],
      }),
      metadataProps:
        manifest === null ? [] : [onnx.StringStringEntryProto.create({ key: "nextbest.manifest", value: typeof manifest === "string" ? manifest : JSON.stringify(manifest) })],
    }),
    new PlainWriter(),
  ).finish();
}

/** A manifest over the given catalog features. */
export function manifestOf(features: string[], output: "probability" | "score" = "probability", name = "test-model"): ModelManifest {
  return { version: 1, name, features, output };
}

/** A logistic regression shaped like models/default.onnx (MatMul → Add → Sigmoid → [N, 1]). */
export function linearModel(features: string[], weights: number[], bias: number, name = "test-linear"): Uint8Array {
  return matmulModel({ manifest: manifestOf(features, "probability", name), width: features.length, weights, bias });
}

/** features [N, F] → MatMul W → Add B (→ Sigmoid) → score [N, 1], with free manifest and shapes. */
export function matmulModel(o: {
  manifest?: ModelManifest | string | null;
  width: number;
  weights?: number[];
  bias?: number;
  sigmoid?: boolean;
  input?: unknown;
  output?: unknown;
  /** W as a vector [F], so MatMul gives [N] instead of [N, 1]. */
  vector?: boolean;
}): Uint8Array {
  const w = o.weights ?? new Array(o.width).fill(0.1);
  const nodes = [
    { opType: "MatMul", input: ["features", "W"], output: ["z0"] },
    { opType: "Add", input: ["z0", "B"], output: [o.sigmoid === false ? "score" : "z"] },
    ...(o.sigmoid === false ? [] : [{ opType: "Sigmoid", input: ["z"], output: ["score"] }]),
  ];
  return buildModel({
    manifest: o.manifest,
    nodes,
    initializers: [floats("W", o.vector ? [o.width] : [o.width, 1], w), floats("B", [1], [o.bias ?? 0])],
    inputs: [o.input ?? tensor("features", ["N", o.width])],
    outputs: [o.output ?? tensor("score", ["N", 1])],
  });
}

/**
 * What skl2onnx writes for a binary LogisticRegression: LinearClassifier (ai.onnx.ml) giving
 * `label` int64 [N] and `probabilities` float [N, 2], followed by a ZipMap unless
 * `zipmap=False`. `labelOnly` keeps only the label output.
 */
export function sklearnClassifier(features: string[], coefficients: number[], intercept: number, o: { zipmap?: boolean; labelOnly?: boolean } = {}): Uint8Array {
  const f = features.length;
  const nodes: Array<Record<string, unknown>> = [
    {
      opType: "LinearClassifier",
      domain: "ai.onnx.ml",
      input: ["features"],
      output: ["label", "probability_tensor"],
      attribute: [
        // Class 0 gets the negated coefficients, as skl2onnx writes a binary model.
        { name: "coefficients", type: onnx.AttributeProto.AttributeType.FLOATS, floats: [...coefficients.map((c) => -c), ...coefficients] },
        { name: "intercepts", type: onnx.AttributeProto.AttributeType.FLOATS, floats: [-intercept, intercept] },
        { name: "classlabels_ints", type: onnx.AttributeProto.AttributeType.INTS, ints: [0, 1] },
        { name: "post_transform", type: onnx.AttributeProto.AttributeType.STRING, s: new TextEncoder().encode("LOGISTIC") },
      ],
    },
    { opType: "Normalizer", domain: "ai.onnx.ml", input: ["probability_tensor"], output: ["probabilities"], attribute: [{ name: "norm", type: onnx.AttributeProto.AttributeType.STRING, s: new TextEncoder().encode("L1") }] },
  ];
  const outputs: unknown[] = [tensor("label", ["N"], T.DataType.INT64)];
  if (o.zipmap) {
    nodes.push({ opType: "ZipMap", domain: "ai.onnx.ml", input: ["probabilities"], output: ["output_probability"], attribute: [{ name: "classlabels_int64s", type: onnx.AttributeProto.AttributeType.INTS, ints: [0, 1] }] });
    outputs.push(zipmapType("output_probability"));
  } else if (!o.labelOnly) {
    outputs.push(tensor("probabilities", ["N", 2]));
  }
  return buildModel({
    manifest: manifestOf(features, "probability", "sklearn-logreg"),
    nodes,
    inputs: [tensor("features", ["N", f])],
    outputs,
    opsets: [
      { domain: "", version: 13 },
      { domain: "ai.onnx.ml", version: 1 },
    ],
  });
}

export { onnx, T };
