/**
 * What validating an uploaded model reports: the reasons it was refused (each with a stable
 * code and an actionable message), or what was checked and measured when it was accepted.
 */
import type { ModelManifest } from "../ranking/manifest.ts";

/** Stable codes of the refusal reasons; documented in models/README.md. */
export type ReasonCode =
  | "not_onnx"
  | "truncated"
  | "too_complex"
  | "external_data"
  | "unknown_domain"
  | "tensor_too_large"
  | "tensor_data_mismatch"
  | "no_manifest"
  | "invalid_manifest"
  | "unknown_feature"
  | "no_input"
  | "several_inputs"
  | "input_type"
  | "input_shape"
  | "feature_count_mismatch"
  | "extra_dims"
  | "zipmap_output"
  | "label_only_output"
  | "output_type"
  | "output_shape"
  | "runtime_error"
  | "non_finite_output"
  | "output_out_of_range"
  | "too_slow";

/** One reason a model was refused. */
export interface Reason {
  code: ReasonCode;
  message: string;
}

/** A graph input or output as the report shows it: `float32[N,16]`, `seq(map(int64,float32))`. */
export interface IoSummary {
  name: string;
  type: string;
}

/** The test inference over a synthetic batch. */
export interface InferenceReport {
  candidates: number;
  /** Timed runs after one warm-up run. */
  runs: number;
  /** Mean wall time of one run of the whole batch, milliseconds. */
  meanMs: number;
  /** Slowest timed run, milliseconds (the clock ticks in whole ms in workerd). */
  maxMs: number;
  budgetMs: number;
  /** Creating the ORT session, milliseconds. */
  sessionMs: number;
  /** Smallest and largest score of the batch. */
  min: number;
  max: number;
}

/** The validation report stored with a model and answered by the upload route. */
export interface ValidationReport {
  ok: boolean;
  /** SHA-256 of the file, hex: the model id. */
  sha256: string;
  sizeBytes: number;
  reasons: Reason[];
  warnings: string[];
  manifest?: ModelManifest;
  /** `name@sha12`, what decisions record as `modelVersion`. */
  version?: string;
  model?: {
    irVersion: number;
    producer: string;
    opsets: Array<{ domain: string; version: number }>;
    operators: string[];
    nodes: number;
    parameters: number;
    inputs: IoSummary[];
    outputs: IoSummary[];
  };
  /** The output nextbest scores with, and how it reads it. */
  scoreOutput?: { name: string; shape: string; column: "only" | "positive class" };
  inference?: InferenceReport;
}
