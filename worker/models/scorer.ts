/**
 * Scorers for registry models: an onnxruntime-web session that reads the output the validator
 * chose (skl2onnx classifiers put int64 labels first, so "the first output" is not enough) and
 * can be released when the session cache evicts it.
 */
import type { ModelManifest } from "../ranking/manifest.ts";
import { createSession, ort } from "../ranking/ort-runtime.ts";
import { scoresFromOutput, type Scorer } from "../ranking/scorer.ts";
import { hex } from "../crypto/hex.ts";

/** A scorer whose ORT session can be released. */
export interface ManagedScorer extends Scorer {
  /** Releases the session once no run is in flight; later runs fail (→ rule-based fallback). */
  retire(): void;
}

/** `name@sha12`: what decisions record as `modelVersion` (same format as the default model's). */
export function modelVersion(name: string, sha256: string): string {
  return `${name}@${sha256.slice(0, 12)}`;
}

/** SHA-256 of bytes, lower-case hex. */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return hex(digest);
}

/** Wraps a session; `outputName` is the output the contract check chose. */
export function sessionScorer(session: ort.InferenceSession, manifest: ModelManifest, version: string, outputName: string): ManagedScorer {
  const inputName = session.inputNames[0]!;
  const width = manifest.features.length;
  let inFlight = 0;
  let retired = false;
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    session.release().catch((err) => console.warn(`releasing ${version} failed:`, err instanceof Error ? err.message : err));
  };
  return {
    version,
    manifest,
    async score(features, rows) {
      if (released) throw new Error(`model ${version} was unloaded`);
      inFlight++;
      const input = new ort.Tensor("float32", features, [rows, width]);
      try {
        // Fetching only the score output lets ORT skip unused branches (labels, ZipMaps).
        const result = await session.run({ [inputName]: input }, [outputName]);
        const output = result[outputName]!;
        const scores = scoresFromOutput(output.data as Float32Array, output.dims, rows);
        output.dispose();
        return scores;
      } finally {
        input.dispose();
        inFlight--;
        if (retired && inFlight === 0) release();
      }
    },
    retire() {
      retired = true;
      if (inFlight === 0) release();
    },
  };
}

/** Creates a session for validated bytes and wraps it. */
export async function registryScorer(bytes: Uint8Array, manifest: ModelManifest, version: string, outputName: string): Promise<ManagedScorer> {
  return sessionScorer(await createSession(bytes), manifest, version, outputName);
}
