/**
 * The model contract (docs/API.md, models/README.md) checked on the structure of the graph: the
 * manifest, one float32 input [N, F], and a score output [N], [N, 1] or [N, 2]. Exporters' usual
 * shapes that do not fit are refused with the export option that fixes them.
 */
import { formatZodError } from "../errors/app-error.ts";
import { MANIFEST_KEY, manifestSchema, type ModelManifest } from "../ranking/manifest.ts";
import type { OnnxSummary } from "./onnx-inspect.ts";
import { FLOAT32, INT64, describeType, type Dim, type ValueInfo } from "./onnx-types.ts";
import type { Reason } from "./report.ts";

const MANIFEST_HOWTO = `attach it with onnx: onnx.helper.set_model_props(model, {"${MANIFEST_KEY}": json.dumps(manifest)}) (see models/README.md)`;

/** Reads and checks the manifest carried in `metadata_props`. */
export function checkManifest(summary: OnnxSummary): { manifest?: ModelManifest; reasons: Reason[] } {
  const raw = summary.metadata.get(MANIFEST_KEY);
  if (raw === undefined) return { reasons: [{ code: "no_manifest", message: `the model has no "${MANIFEST_KEY}" metadata; ${MANIFEST_HOWTO}` }] };
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { reasons: [{ code: "invalid_manifest", message: `"${MANIFEST_KEY}" is not JSON; ${MANIFEST_HOWTO}` }] };
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    // Unknown feature names get their own code (the most common mistake); paths name the manifest.
    const prefixed = parsed.error.issues.map((i) => ({ ...i, path: ["manifest", ...i.path] }));
    const unknown = prefixed.filter((i) => i.path[1] === "features" && i.message.startsWith("unknown feature"));
    const other = prefixed.filter((i) => !unknown.includes(i));
    return {
      reasons: [
        ...(unknown.length ? [{ code: "unknown_feature" as const, message: formatZodError({ issues: unknown }) }] : []),
        ...(other.length ? [{ code: "invalid_manifest" as const, message: formatZodError({ issues: other }) }] : []),
      ],
    };
  }
  const m = parsed.data;
  const reasons: Reason[] = [];
  if (new Set(m.features).size !== m.features.length) reasons.push({ code: "invalid_manifest", message: "manifest.features: a feature is listed twice" });
  if (m.baseline && (m.baseline.mean.length !== m.features.length || m.baseline.std.length !== m.features.length)) {
    reasons.push({ code: "invalid_manifest", message: "manifest.baseline: mean and std need one value per feature" });
  }
  return reasons.length ? { reasons } : { manifest: m, reasons };
}

const isBatchDim = (d: Dim) => d === null || typeof d === "string" || d === -1;

function checkInput(input: ValueInfo, width: number, warnings: string[]): Reason[] {
  const type = input.type;
  if (type?.kind !== "tensor") {
    return [{ code: "input_type", message: `input "${input.name}" is ${describeType(type)}; nextbest feeds one float32 tensor [N, F]` }];
  }
  if (type.elemType !== FLOAT32) {
    return [{ code: "input_type", message: `input "${input.name}" is ${describeType(type)}; declare it float32 (skl2onnx: FloatTensorType([None, ${width}]); PyTorch: a float32 example input)` }];
  }
  const dims = type.dims;
  if (!dims) {
    warnings.push(`input "${input.name}" declares no shape; the test inference checks it takes [N, ${width}]`);
    return [];
  }
  if (dims.length > 2) {
    return [{ code: "extra_dims", message: `input "${input.name}" is ${describeType(type)}; nextbest feeds rank 2 [N, F] — drop the extra dimensions (e.g. flatten before export)` }];
  }
  if (dims.length !== 2) {
    return [{ code: "input_shape", message: `input "${input.name}" is ${describeType(type)}; nextbest feeds [N, F] (N candidates, F features)` }];
  }
  const [n, f] = dims;
  if (!isBatchDim(n!)) {
    return [{ code: "input_shape", message: `input "${input.name}" fixes the batch dimension to ${n}; make it dynamic (PyTorch: dynamic_axes={"${input.name}": {0: "N"}}; skl2onnx: FloatTensorType([None, ${width}]))` }];
  }
  if (typeof f === "number" && f !== width) {
    return [{ code: "feature_count_mismatch", message: `input "${input.name}" takes ${f} features but the manifest names ${width}` }];
  }
  if (typeof f !== "number") warnings.push(`input "${input.name}" has a dynamic feature dimension; nextbest feeds ${width} (the manifest's count)`);
  return [];
}

/** How the score is read from an accepted output. */
export interface ScoreOutput {
  name: string;
  column: "only" | "positive class";
}

function acceptedScore(v: ValueInfo): ScoreOutput | undefined {
  const t = v.type;
  if (t?.kind !== "tensor" || t.elemType !== FLOAT32) return undefined;
  if (!t.dims) return { name: v.name, column: "only" };
  const [n, k] = t.dims;
  if (t.dims.length < 1 || t.dims.length > 2 || (n !== undefined && !isBatchDim(n))) return undefined;
  if (t.dims.length === 1 || k === 1 || k === null || typeof k === "string") return { name: v.name, column: "only" };
  return k === 2 ? { name: v.name, column: "positive class" } : undefined;
}

/** Picks the output to score with, or explains why none fits. */
function chooseOutput(outputs: ValueInfo[], warnings: string[]): { output?: ScoreOutput; reasons: Reason[] } {
  const accepted = outputs.map(acceptedScore);
  const index = accepted.findIndex(Boolean);
  if (index >= 0) {
    const output = accepted[index]!;
    const t = outputs[index]!.type;
    if (t?.kind === "tensor" && t.dims?.length === 2 && (t.dims[1] === null || typeof t.dims[1] === "string")) {
      warnings.push(`output "${output.name}" has a dynamic second dimension; the test inference checks it is 1 or 2`);
    }
    outputs.forEach((o, i) => i !== index && warnings.push(`output "${o.name}" (${describeType(o.type)}) is ignored`));
    return { output, reasons: [] };
  }
  const kinds = outputs.map((o) => o.type);
  const list = outputs.map((o) => `"${o.name}" ${describeType(o.type)}`).join(", ");
  if (outputs.length === 0) return { reasons: [{ code: "output_shape", message: "the model has no output" }] };
  if (kinds.some((t) => t?.kind === "sequence" || t?.kind === "map")) {
    return { reasons: [{ code: "zipmap_output", message: `outputs ${list}: class probabilities as a sequence of maps (a ZipMap) cannot be scored; export with zipmap=False (skl2onnx: to_onnx(model, X, options={"zipmap": False}); onnxmltools: convert with zipmap=False) so probabilities are a float32 [N, 2] tensor` }] };
  }
  if (kinds.every((t) => t?.kind === "tensor" && t.elemType === INT64)) {
    return { reasons: [{ code: "label_only_output", message: `outputs ${list}: only int64 class labels; nextbest needs scores or probabilities — export the classifier's probabilities (skl2onnx keeps them with zipmap=False) or a regressor's float32 output` }] };
  }
  const tensors = kinds.filter((t) => t?.kind === "tensor");
  if (tensors.some((t) => t.dims && t.dims.length > 2)) {
    return { reasons: [{ code: "extra_dims", message: `outputs ${list}: nextbest reads [N], [N, 1] or [N, 2]; squeeze or reshape the extra dimensions before export` }] };
  }
  if (tensors.some((t) => t.elemType !== FLOAT32 && t.elemType !== INT64)) {
    return { reasons: [{ code: "output_type", message: `outputs ${list}: scores must be float32 (add a Cast to float, or skl2onnx: to_onnx(..., target_opset) with FloatTensorType input)` }] };
  }
  return { reasons: [{ code: "output_shape", message: `outputs ${list}: nextbest reads scores [N] or [N, 1], or binary class probabilities [N, 2] (one row per candidate; a multi-class model is not a ranker)` }] };
}

/** Checks inputs and outputs against the manifest; returns the output to score with. */
export function checkContract(summary: OnnxSummary, manifest: ModelManifest, warnings: string[]): { output?: ScoreOutput; reasons: Reason[] } {
  const width = manifest.features.length;
  if (summary.inputs.length === 0) return { reasons: [{ code: "no_input", message: "the model has no input; nextbest feeds one float32 tensor [N, F]" }] };
  if (summary.inputs.length > 1) {
    const names = summary.inputs.map((i) => `"${i.name}"`).join(", ");
    return {
      reasons: [{ code: "several_inputs", message: `the model has ${summary.inputs.length} inputs (${names}); nextbest feeds one float32 tensor [N, ${width}] — export with a single input (skl2onnx: initial_types=[("features", FloatTensorType([None, ${width}]))])` }],
    };
  }
  const reasons = checkInput(summary.inputs[0]!, width, warnings);
  const chosen = chooseOutput(summary.outputs, warnings);
  return { output: chosen.output, reasons: [...reasons, ...chosen.reasons] };
}
