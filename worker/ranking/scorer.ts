import type { ModelManifest } from "./manifest.ts";
import { readManifest } from "./manifest.ts";
import { createSession, ort } from "./ort-runtime.ts";
import { hex } from "../crypto/hex.ts";

/**
 * What a scorer may know besides the features: the candidates' block ids, in row order. ONNX
 * models ignore it; the adaptive model (worker/adaptive/) keeps one posterior per block and
 * scores a row it has no block id for with its prior.
 */
export interface ScoreContext {
  blockIds?: readonly string[];
}

/** Scores candidate rows with a model; one score per row, higher is better. */
export interface Scorer {
  /** Names the model in decisions (`modelVersion`). */
  readonly version: string;
  readonly manifest: ModelManifest;
  /** `features` is row-major `[rows, manifest.features.length]`. */
  score(features: Float32Array, rows: number, context?: ScoreContext): Promise<Float32Array>;
}

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return hex(digest);
}

/**
 * Turns the model's output into one score per row. Accepted shapes (the model contract):
 * `[N]`, `[N, 1]`, or class probabilities `[N, 2]` (the positive class is used).
 */
export function scoresFromOutput(data: Float32Array, dims: readonly number[], rows: number): Float32Array {
  const [n, k = 1] = dims;
  if (n !== rows || dims.length > 2 || (k !== 1 && k !== 2)) {
    throw new Error(`unexpected output shape [${dims.join(", ")}] for ${rows} rows`);
  }
  if (k === 1) return data.slice(0, rows);
  const out = new Float32Array(rows);
  for (let i = 0; i < rows; i++) out[i] = data[i * 2 + 1]!;
  return out;
}

/** The real scorer: an ONNX model run by onnxruntime-web inside the Worker. */
export async function onnxScorer(model: Uint8Array): Promise<Scorer> {
  const manifest = readManifest(model);
  const version = `${manifest.name}@${(await sha256Hex(model)).slice(0, 12)}`;
  const session = await createSession(model);
  const inputName = session.inputNames[0]!;
  const outputName = session.outputNames[0]!;
  const width = manifest.features.length;
  return {
    version,
    manifest,
    async score(features, rows) {
      const input = new ort.Tensor("float32", features, [rows, width]);
      const result = await session.run({ [inputName]: input });
      const output = result[outputName]!;
      const scores = scoresFromOutput(output.data as Float32Array, output.dims, rows);
      input.dispose();
      output.dispose();
      return scores;
    },
  };
}

/**
 * A deterministic scorer for unit tests: a fixed linear function of the features, no runtime.
 */
export function linearScorer(manifest: ModelManifest, weights: number[], version = "linear-test"): Scorer {
  return {
    version,
    manifest,
    async score(features, rows) {
      const out = new Float32Array(rows);
      for (let r = 0; r < rows; r++) {
        let s = 0;
        for (let c = 0; c < weights.length; c++) s += weights[c]! * features[r * weights.length + c]!;
        out[r] = s;
      }
      return out;
    },
  };
}
