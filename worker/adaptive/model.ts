/**
 * The built-in adaptive model: registered beside the shipped ONNX default (worker/models/
 * builtin.ts) under a fixed id, so it is listed, activated, set as challenger or shadow, and
 * named in decisions like any uploaded model. Its "file" is its state (posteriors in D1), not
 * bytes in R2; `GET /admin/models/:id/onnx?block=` exports a block's posterior mean as ONNX.
 */
import type { ModelManifest } from "../ranking/manifest.ts";
import type { ValidationReport } from "../models/report.ts";
import { modelVersion, sha256Hex } from "../models/scorer.ts";
import { adaptiveFeatureNames } from "./features.ts";

/** The name decisions show (`nextbest-adaptive@<id12>`). */
export const ADAPTIVE_NAME = "nextbest-adaptive";

/** What the id is the SHA-256 of: bump the suffix only if the model's meaning changes. */
const IDENTITY = "nextbest adaptive model: per-block Bayesian logistic regression, Thompson sampling, v1";

let id: Promise<string> | undefined;

/** The adaptive model's id (64 hex digits, like every model id). */
export function adaptiveId(): Promise<string> {
  id ??= sha256Hex(new TextEncoder().encode(IDENTITY));
  return id;
}

/** Its manifest: the feature list of worker/adaptive/features.ts, a probability output. */
export function adaptiveManifest(): ModelManifest {
  return { version: 1, name: ADAPTIVE_NAME, features: [...adaptiveFeatureNames()], output: "probability" };
}

/** `nextbest-adaptive@<id12>`. */
export async function adaptiveVersion(): Promise<string> {
  return modelVersion(ADAPTIVE_NAME, await adaptiveId());
}

/** The registry's report for it: nothing was uploaded, so it says what the model is. */
export async function adaptiveReport(): Promise<ValidationReport> {
  const manifest = adaptiveManifest();
  return {
    ok: true,
    sha256: await adaptiveId(),
    sizeBytes: 0,
    reasons: [],
    warnings: ["built-in adaptive model: learns online from the event log; no file (export a block's posterior mean with GET /admin/models/:id/onnx?block=<id>)"],
    manifest,
    version: await adaptiveVersion(),
  };
}
