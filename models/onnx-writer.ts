/**
 * Writes a logistic-regression ranker as an ONNX model with the nextbest manifest in
 * `metadata_props`. Built with the `onnx-proto` protobuf classes (no hand-rolled bytes), and
 * deterministic: the same weights and manifest always give the same file, byte for byte.
 */
import onnxProto from "onnx-proto";
import { MANIFEST_KEY, type ModelManifest } from "../worker/ranking/manifest.ts";

const { onnx } = onnxProto;

/** Everything needed to write a linear model: score = sigmoid(features · weights + bias). */
export interface LinearModel {
  weights: number[];
  bias: number;
  manifest: ModelManifest;
  /** Free text stored as the graph's doc string. */
  description?: string;
}

function floatTensor(name: string, dims: number[], values: number[]) {
  return onnx.TensorProto.create({
    name,
    dims,
    dataType: onnx.TensorProto.DataType.FLOAT,
    rawData: new Uint8Array(new Float32Array(values).buffer),
  });
}

function valueInfo(name: string, dims: Array<number | string>) {
  return onnx.ValueInfoProto.create({
    name,
    type: onnx.TypeProto.create({
      tensorType: onnx.TypeProto.Tensor.create({
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: onnx.TensorShapeProto.create({
          dim: dims.map((d) =>
            typeof d === "number"
              ? onnx.TensorShapeProto.Dimension.create({ dimValue: d })
              : onnx.TensorShapeProto.Dimension.create({ dimParam: d }),
          ),
        }),
      }),
    }),
  });
}

/** Serialises the model; input `features` float32 [N, F], output `score` float32 [N, 1]. */
export function writeLinearModel(model: LinearModel): Uint8Array {
  const f = model.manifest.features.length;
  if (model.weights.length !== f) {
    throw new Error(`weights (${model.weights.length}) must match manifest features (${f})`);
  }
  const graph = onnx.GraphProto.create({
    name: model.manifest.name,
    docString: model.description ?? "",
    node: [
      onnx.NodeProto.create({ name: "linear", opType: "MatMul", input: ["features", "W"], output: ["logit_raw"] }),
      onnx.NodeProto.create({ name: "bias", opType: "Add", input: ["logit_raw", "B"], output: ["logit"] }),
      onnx.NodeProto.create({ name: "link", opType: "Sigmoid", input: ["logit"], output: ["score"] }),
    ],
    initializer: [floatTensor("W", [f, 1], model.weights), floatTensor("B", [1], [model.bias])],
    input: [valueInfo("features", ["N", f])],
    output: [valueInfo("score", ["N", 1])],
  });
  const proto = onnx.ModelProto.create({
    irVersion: 8,
    producerName: "nextbest",
    producerVersion: String(model.manifest.version),
    domain: "ai.nextbest",
    modelVersion: 1,
    opsetImport: [onnx.OperatorSetIdProto.create({ domain: "", version: 13 })],
    graph,
    metadataProps: [
      onnx.StringStringEntryProto.create({ key: MANIFEST_KEY, value: JSON.stringify(model.manifest) }),
    ],
  });
  return onnx.ModelProto.encode(proto).finish();
}
