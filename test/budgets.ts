/**
 * Latency budgets far above anything a busy machine takes, for the Worker under test (miniflare
 * bindings in vitest.config.ts, `--var`s of the browser tests' `wrangler dev`). The tests check
 * what is decided and shown, not how fast: a slow moment must not turn `ranked` into `fallback`,
 * a proxied page into an unpersonalised one, or a model upload into `too_slow`. A test about a
 * budget injects its own (an injected clock, or the budget as an argument); speed is measured
 * by `npm run bench`, never by a test.
 */
export const GENEROUS_BUDGETS = {
  /** Ranking (guardrails' latencyBudgetMs, 20 ms by default). */
  DECIDE_LATENCY_BUDGET_MS: "10000",
  /** Loading a model on an isolate's first decide (guardrails' coldStartBudgetMs, 1 s). */
  DECIDE_COLD_START_BUDGET_MS: "30000",
  /** Proxy mode's decide before the page streams unpersonalised (50 ms in wrangler.toml). */
  PROXY_BUDGET_MS: "10000",
  /** Mean validation run of an uploaded model (5 ms). */
  MODEL_LATENCY_BUDGET_MS: "1000",
  /** How long an upload waits for its validation before answering 202 (2 s). */
  MODEL_VALIDATION_WAIT_MS: "300000",
} as const;
