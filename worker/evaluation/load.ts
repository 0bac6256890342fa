import { AppError } from "../errors/app-error.ts";
import type { LoggedDecision } from "../export/line.ts";
import type { LoggedFilter } from "../export/query.ts";
import { loggedDecisionsFromLake } from "../lake/logged.ts";
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

/**
 * The logged decisions off-policy evaluation replays, with their outcomes, oldest first, a page
 * at a time: read from the Parquet lake (caught up with D1 first), never by scanning D1. Same
 * decisions, order and outcomes as `loggedDecisions(db, …)` of worker/export/query.ts.
 *
 * @param env the D1 database (catch-up flush) and the lake bucket
 * @param now clock (ms) of the catch-up flush
 */
export function loadLoggedDecisions(env: Pick<Env, "DB" | "LAKE">, filter: LoggedFilter, pageSize = 500, now = Date.now()): AsyncGenerator<LoggedDecision[]> {
  return loggedDecisionsFromLake(env, filter, { now, pageSize });
}
