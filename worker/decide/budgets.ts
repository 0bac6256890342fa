/**
 * Operator overrides of the decide budgets. The guardrail configuration holds the budgets a site
 * runs with (`latencyBudgetMs`, `coldStartBudgetMs`); an environment whose speed is not the
 * point — the test suites, a loaded development machine — sets these variables so a slow
 * moment answers `ranked` as it would on a quiet machine, instead of `fallback`.
 */
import type { GuardrailConfig } from "../guardrails/config.ts";

declare global {
  namespace Cloudflare {
    interface Env {
      /** Replaces the guardrails' `latencyBudgetMs` (ms for ranking), e.g. `--var DECIDE_LATENCY_BUDGET_MS:10000`. */
      DECIDE_LATENCY_BUDGET_MS?: string;
      /** Replaces the guardrails' `coldStartBudgetMs` (ms to load a model on an isolate's first decide). */
      DECIDE_COLD_START_BUDGET_MS?: string;
    }
  }
}

/** The budgets an environment imposes; absent fields leave the configuration's. */
export type BudgetOverrides = Partial<Pick<GuardrailConfig, "latencyBudgetMs" | "coldStartBudgetMs">>;

function milliseconds(value: string | undefined): number | undefined {
  const n = Number(value);
  return value !== undefined && value !== "" && Number.isFinite(n) && n > 0 ? n : undefined;
}

/** Reads the overrides from the bindings; unset, empty or invalid values are ignored. */
export function budgetOverridesFromEnv(env: Pick<Env, "DECIDE_LATENCY_BUDGET_MS" | "DECIDE_COLD_START_BUDGET_MS">): BudgetOverrides {
  const latency = milliseconds(env.DECIDE_LATENCY_BUDGET_MS);
  const coldStart = milliseconds(env.DECIDE_COLD_START_BUDGET_MS);
  return { ...(latency !== undefined ? { latencyBudgetMs: latency } : {}), ...(coldStart !== undefined ? { coldStartBudgetMs: coldStart } : {}) };
}

/** The configuration with the environment's budgets in place of its own. */
export function withBudgets(config: GuardrailConfig, overrides: BudgetOverrides | undefined): GuardrailConfig {
  return overrides && Object.keys(overrides).length ? { ...config, ...overrides } : config;
}
