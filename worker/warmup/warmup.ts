/**
 * Warm start: the first request of any kind that reaches an isolate starts the ONNX runtime and
 * the serving models in the background (`ctx.waitUntil`), once its own answer is out. Starting
 * onnxruntime-web (instantiating its WASM, creating the champion's session, a first inference)
 * takes a few hundred milliseconds; done by the first *personalised* decide it could exceed the
 * cold-start budget and serve the rule-based fallback. A visitor's first request is usually the
 * decide of a page before any consent (no model runs), or `/healthz`; by the time they accept,
 * the model is loaded and their first personalised decide is ranked.
 */
import type { MiddlewareHandler } from "hono";
import type { ScorerProvider } from "../ranking/active-model.ts";

/** The visitor id the warm-up selects models for (only its challenger arm depends on it). */
export const WARM_UP_VISITOR = "nextbest-warm-up";

/**
 * Loads the models a decide would use now and runs one inference on each, so the ORT runtime,
 * the sessions and their first-run allocations are ready. Never rejects: a failure is logged and
 * the next decide loads the model itself (and falls back if it cannot).
 */
export async function warmModels(provider: ScorerProvider): Promise<void> {
  try {
    const selection = await provider.select(WARM_UP_VISITOR);
    for (const scorer of [selection.serving, ...selection.shadows]) {
      await scorer.score(new Float32Array(scorer.manifest.features.length), 1);
    }
  } catch (err) {
    console.warn("warming the models failed:", err instanceof Error ? err.message : err);
  }
}

/** What the middleware needs: the isolate's provider from the bindings. */
export type ProviderFromEnv = (env: Env) => ScorerProvider;

/**
 * Middleware: on the isolate's first request, warms the models after the answer. Later requests
 * pass straight through. `state` is per isolate (module scope) in production; tests pass their own.
 */
export function warmOnFirstRequest(providerFromEnv: ProviderFromEnv, state: { started: boolean } = isolateWarmState): MiddlewareHandler<{ Bindings: Env }> {
  return async (c, next) => {
    await next();
    if (state.started) return;
    state.started = true;
    let ctx: Pick<ExecutionContext, "waitUntil"> | undefined;
    try {
      ctx = c.executionCtx;
    } catch {
      // No execution context (a direct app.request in a unit test): nothing to extend.
    }
    // After this request's answer is handed over: the isolate runs one thing at a time, and
    // starting the runtime must not delay the request that triggered it.
    const warming = new Promise((resolve) => setTimeout(resolve, 0)).then(() => warmModels(providerFromEnv(c.env)));
    ctx?.waitUntil(warming);
  };
}

/** Whether this isolate has started its warm-up. */
export const isolateWarmState = { started: false };
