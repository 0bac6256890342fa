import * as ort from "onnxruntime-web";
import { checkContract, checkManifest } from "../../worker/models/contract.ts";
import { inspectOnnx } from "../../worker/models/onnx-inspect.ts";

ort.env.wasm.numThreads = 1;

/** The structural checks of POST /admin/models (everything before onnxruntime) in node. */
export function uploadChecks(bytes: Uint8Array) {
  const { summary, reasons } = inspectOnnx(bytes);
  if (!summary) return { reasons };
  const { manifest, reasons: manifestReasons } = checkManifest(summary);
  if (!manifest) return { reasons: [...reasons, ...manifestReasons] };
  const contract = checkContract(summary, manifest, []);
  return { reasons: [...reasons, ...contract.reasons], manifest, output: contract.output };
}

/** Runs a model in onnxruntime-web (node build) over row-major features; one score per row. */
export async function runOnnx(bytes: Uint8Array, rows: number[][]): Promise<number[]> {
  const session = await ort.InferenceSession.create(bytes);
  const width = rows[0]!.length;
  const input = new ort.Tensor("float32", Float32Array.from(rows.flat()), [rows.length, width]);
  const out = await session.run({ [session.inputNames[0]!]: input });
  const scores = Array.from(out[session.outputNames[0]!]!.data as Float32Array);
  await session.release();
  return scores;
}
