import { AppError } from "../errors/app-error.ts";
import { loadRegisteredScorer } from "../models/runtime.ts";
import { loadDefaultScorer } from "../ranking/active-model.ts";
import type { Scorer } from "../ranking/scorer.ts";

/** A scorer for one evaluation; `release` frees its ORT session afterwards. */
export interface EvaluationScorer {
  scorer: Scorer;
  release(): void;
}

/**
 * Finds the scorer of a model for evaluation: `default` (the model shipped in
 * models/default.onnx), or any registered model by id, unique id prefix (≥ 12 hex digits) or
 * version (`name@sha12`), loaded outside the serving cache so evaluating never evicts a serving
 * session.
 */
export async function scorerForEvaluation(ref: string, env: Pick<Env, "DB" | "MODELS">): Promise<EvaluationScorer> {
  if (ref === "default") return { scorer: await loadDefaultScorer(), release: () => {} };
  const registered = await loadRegisteredScorer(env, ref);
  if (!registered) throw new AppError("not_found", `no model "${ref}": give "default", a model id, a unique id prefix of 12+ hex digits, or a version name@sha12`);
  return { scorer: registered, release: () => registered.retire() };
}
