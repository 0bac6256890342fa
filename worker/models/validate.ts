/**
 * Validates an uploaded model: structure on the wire first (worker/models/onnx-inspect.ts), then
 * the manifest and the input/output contract, and only when all of that passes, a real
 * onnxruntime session and a test inference over a synthetic batch, timed.
 */
import { unitHash } from "../holdout/hash.ts";
import type { ModelManifest } from "../ranking/manifest.ts";
import { createSession as ortCreateSession, ort } from "../ranking/ort-runtime.ts";
import { scoresFromOutput } from "../ranking/scorer.ts";
import { checkContract, checkManifest, type ScoreOutput } from "./contract.ts";
import { VALIDATION_CANDIDATES, VALIDATION_RUNS } from "./limits.ts";
import { inspectOnnx } from "./onnx-inspect.ts";
import { describeType } from "./onnx-types.ts";
import type { InferenceReport, Reason, ValidationReport } from "./report.ts";
import { modelVersion, sha256Hex } from "./scorer.ts";

/** Wall clock for the latency measurement; a fake one makes the budget testable. */
export interface Clock {
  now(): number;
  /** Lets the clock catch up: workerd only advances time across I/O, such as a timer. */
  settle(): Promise<void>;
}

export const realClock: Clock = {
  now: () => Date.now(),
  settle: () => new Promise((resolve) => setTimeout(resolve, 0)),
};

export interface ValidateOptions {
  latencyBudgetMs: number;
  clock?: Clock;
  createSession?: (bytes: Uint8Array) => Promise<ort.InferenceSession>;
}

/** What an accepted model needs at serving time besides its bytes. */
export interface AcceptedModel {
  manifest: ModelManifest;
  output: ScoreOutput;
  version: string;
}

/**
 * A deterministic batch: row 0 all zeros, row 1 all ones, the rest spread around the manifest's
 * baseline (mean ± 2 std) or uniform in [0, 1) without one. Seeded by position, so every
 * validation of the same model feeds the same numbers.
 */
export function syntheticBatch(manifest: ModelManifest, rows: number): Float32Array {
  const width = manifest.features.length;
  const out = new Float32Array(rows * width);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < width; j++) {
      const u = unitHash("nextbest-validation-batch", `${i}:${j}`);
      const mean = manifest.baseline?.mean[j];
      const std = manifest.baseline?.std[j];
      out[i * width + j] = i === 0 ? 0 : i === 1 ? 1 : mean !== undefined && std !== undefined ? mean + std * (4 * u - 2) : u;
    }
  }
  return out;
}

const short = (err: unknown) => (err instanceof Error ? err.message : String(err)).slice(0, 300);

async function testInference(
  session: ort.InferenceSession,
  accepted: AcceptedModel,
  budgetMs: number,
  clock: Clock,
): Promise<{ inference?: Omit<InferenceReport, "sessionMs">; reasons: Reason[] }> {
  const rows = VALIDATION_CANDIDATES;
  const width = accepted.manifest.features.length;
  const batch = syntheticBatch(accepted.manifest, rows);
  const inputName = session.inputNames[0]!;
  const run = async () => {
    const input = new ort.Tensor("float32", batch, [rows, width]);
    try {
      const out = (await session.run({ [inputName]: input }, [accepted.output.name]))[accepted.output.name]!;
      return scoresFromOutput(out.data as Float32Array, out.dims, rows);
    } finally {
      input.dispose();
    }
  };
  let scores: Float32Array;
  try {
    scores = await run(); // warm-up, and the scores that are checked
  } catch (err) {
    const message = short(err);
    const code = /unexpected output shape/.test(message) ? "output_shape" : "runtime_error";
    return { reasons: [{ code, message: `test inference over ${rows} candidates failed: ${message}` }] };
  }
  let maxMs = 0;
  await clock.settle();
  const start = clock.now();
  try {
    for (let r = 0; r < VALIDATION_RUNS; r++) {
      const t = clock.now();
      await run();
      maxMs = Math.max(maxMs, clock.now() - t);
    }
  } catch (err) {
    return { reasons: [{ code: "runtime_error", message: `a repeated test inference failed: ${short(err)}` }] };
  }
  await clock.settle();
  const meanMs = (clock.now() - start) / VALIDATION_RUNS;
  const values = [...scores];
  const inference = { candidates: rows, runs: VALIDATION_RUNS, meanMs, maxMs, budgetMs, min: Math.min(...values), max: Math.max(...values) };
  const reasons: Reason[] = [];
  const bad = values.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) reasons.push({ code: "non_finite_output", message: `the model returned ${values[bad]} for candidate ${bad} of the test batch; scores must be finite` });
  else if (accepted.manifest.output === "probability" && (inference.min < 0 || inference.max > 1)) {
    reasons.push({
      code: "output_out_of_range",
      message: `the manifest says "probability" but scores range over [${inference.min}, ${inference.max}]; end the graph with a Sigmoid/Softmax, or declare "output": "score"`,
    });
  }
  if (meanMs > budgetMs) {
    reasons.push({ code: "too_slow", message: `one run over ${rows} candidates takes ${meanMs.toFixed(2)} ms on average; the budget is ${budgetMs} ms` });
  }
  return { inference, reasons };
}

/** Validates model bytes. Never throws for bad input: every problem is a reason in the report. */
export async function validateModel(bytes: Uint8Array, options: ValidateOptions): Promise<{ report: ValidationReport; accepted?: AcceptedModel }> {
  const clock = options.clock ?? realClock;
  const create = options.createSession ?? ortCreateSession;
  const report: ValidationReport = { ok: false, sha256: await sha256Hex(bytes), sizeBytes: bytes.length, reasons: [], warnings: [] };
  const { summary, reasons: structural } = inspectOnnx(bytes);
  report.reasons.push(...structural);
  if (!summary) return { report };
  report.model = {
    irVersion: summary.irVersion,
    producer: summary.producer.trim(),
    opsets: summary.opsets,
    operators: summary.operators,
    nodes: summary.nodes,
    parameters: summary.parameters,
    inputs: summary.inputs.map((i) => ({ name: i.name, type: describeType(i.type) })),
    outputs: summary.outputs.map((o) => ({ name: o.name, type: describeType(o.type) })),
  };
  const { manifest, reasons: manifestReasons } = checkManifest(summary);
  report.reasons.push(...manifestReasons);
  if (!manifest) return { report };
  report.manifest = manifest;
  report.version = modelVersion(manifest.name, report.sha256);
  const contract = checkContract(summary, manifest, report.warnings);
  report.reasons.push(...contract.reasons);
  // Anything refused so far never reaches onnxruntime.
  if (report.reasons.length || !contract.output) return { report };
  const output = contract.output;
  const outputType = summary.outputs.find((o) => o.name === output.name)?.type;
  report.scoreOutput = { name: output.name, shape: describeType(outputType ?? null), column: output.column };
  const accepted: AcceptedModel = { manifest, output, version: report.version };

  let session: ort.InferenceSession;
  await clock.settle();
  const created = clock.now();
  try {
    session = await create(bytes);
  } catch (err) {
    report.reasons.push({ code: "runtime_error", message: `onnxruntime could not load the model: ${short(err)}` });
    return { report };
  }
  try {
    await clock.settle();
    const sessionMs = clock.now() - created;
    const tested = await testInference(session, accepted, options.latencyBudgetMs, clock);
    if (tested.inference) report.inference = { ...tested.inference, sessionMs };
    report.reasons.push(...tested.reasons);
  } finally {
    await session.release().catch(() => undefined);
  }
  report.ok = report.reasons.length === 0;
  return report.ok ? { report, accepted } : { report };
}

/** Re-derives what serving needs from stored, already validated bytes (no inference). */
export function acceptedFromBytes(bytes: Uint8Array, sha256: string): AcceptedModel {
  const { summary, reasons } = inspectOnnx(bytes);
  if (!summary || reasons.length) throw new Error(`stored model ${sha256.slice(0, 12)} no longer passes the structural checks`);
  const { manifest } = checkManifest(summary);
  if (!manifest) throw new Error(`stored model ${sha256.slice(0, 12)} has no valid manifest`);
  const { output } = checkContract(summary, manifest, []);
  if (!output) throw new Error(`stored model ${sha256.slice(0, 12)} has no score output`);
  return { manifest, output, version: modelVersion(manifest.name, sha256) };
}
