/**
 * Limits of the model registry. Each is a guard for the running Worker (memory, CPU, decide
 * latency), not a statement about what a good model is.
 */

declare global {
  namespace Cloudflare {
    interface Env {
      /** Optional override of MODEL_MAX_BYTES (bytes), e.g. `wrangler dev --var MODEL_MAX_BYTES:50000000`. */
      MODEL_MAX_BYTES?: string;
      /** Optional override of MODEL_LATENCY_BUDGET_MS. */
      MODEL_LATENCY_BUDGET_MS?: string;
    }
  }
}

/** Largest upload accepted (413 above). A session holds roughly the file's size in WASM memory. */
export const MODEL_MAX_BYTES = 20 * 1024 * 1024;

/**
 * Mean time one run over the validation batch (100 candidates) may take. The decide budget is
 * +2 ms at p50 for 50 candidates, everything included; a model needing 5 ms for 100 rows cannot
 * meet it, and one far below it leaves room for guardrails, the visitor state and the audit write.
 */
export const MODEL_LATENCY_BUDGET_MS = 5;

/** Rows of the synthetic validation batch. */
export const VALIDATION_CANDIDATES = 100;

/** Timed runs of the validation batch (after one warm-up run). */
export const VALIDATION_RUNS = 20;

/** Largest tensor (elements) an initializer may declare or a constant shape may build: 64 MB of float32. */
export const MAX_TENSOR_ELEMENTS = 16 * 1024 * 1024;

/** Most nodes in a graph, subgraphs included. */
export const MAX_NODES = 100_000;

/** Deepest nesting of subgraphs (If/Loop/Scan bodies). */
export const MAX_GRAPH_DEPTH = 8;

/** Inference sessions kept per isolate (least recently used evicted). */
export const SESSION_CACHE_SIZE = 4;

/** Shadow models at once: each is scored on every decision. */
export const MAX_SHADOWS = 2;

/** How long an isolate trusts its copy of the deployment (champion, challenger, shadows). */
export const DEPLOYMENT_TTL_MS = 5_000;

/** Previous champions remembered for rollback. */
export const MAX_ROLLBACK_HISTORY = 20;

function positive(value: string | undefined, fallback: number): number {
  const n = Number(value);
  return value !== undefined && value !== "" && Number.isFinite(n) && n > 0 ? n : fallback;
}

/** The limits in force for this environment. */
export function limitsFromEnv(env: Pick<Env, "MODEL_MAX_BYTES" | "MODEL_LATENCY_BUDGET_MS">): { maxBytes: number; latencyBudgetMs: number } {
  return {
    maxBytes: Math.floor(positive(env.MODEL_MAX_BYTES, MODEL_MAX_BYTES)),
    latencyBudgetMs: positive(env.MODEL_LATENCY_BUDGET_MS, MODEL_LATENCY_BUDGET_MS),
  };
}
