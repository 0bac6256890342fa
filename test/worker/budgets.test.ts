// The environment's decide budgets (test/budgets.ts sets them for every Worker test) replace the
// guardrail configuration's, and only where given.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { staticCatalogStore } from "../../worker/catalog/store.ts";
import { budgetOverridesFromEnv, withBudgets } from "../../worker/decide/budgets.ts";
import { decideWithServices } from "../../worker/decide/run.ts";
import { decideRequestSchema } from "../../worker/decide/schema.ts";
import { DEFAULT_GUARDRAILS } from "../../worker/guardrails/config.ts";
import { servicesFromEnv } from "../../worker/middleware/init.ts";
import type { Scorer } from "../../worker/ranking/scorer.ts";
import type { Services } from "../../worker/services.ts";
import { memoryVisitorState } from "../../worker/visitor/memory.ts";
import { GENEROUS_BUDGETS } from "../budgets.ts";

describe("budgetOverridesFromEnv", () => {
  it.each([
    { vars: {}, expected: {} },
    { vars: { DECIDE_LATENCY_BUDGET_MS: "250" }, expected: { latencyBudgetMs: 250 } },
    { vars: { DECIDE_COLD_START_BUDGET_MS: "5000" }, expected: { coldStartBudgetMs: 5000 } },
    { vars: { DECIDE_LATENCY_BUDGET_MS: "40", DECIDE_COLD_START_BUDGET_MS: "2000" }, expected: { latencyBudgetMs: 40, coldStartBudgetMs: 2000 } },
    { vars: { DECIDE_LATENCY_BUDGET_MS: "", DECIDE_COLD_START_BUDGET_MS: "soon" }, expected: {} },
    { vars: { DECIDE_LATENCY_BUDGET_MS: "0", DECIDE_COLD_START_BUDGET_MS: "-5" }, expected: {} },
  ])("$vars → $expected", ({ vars, expected }) => {
    expect(budgetOverridesFromEnv(vars)).toEqual(expected);
  });

  it("replaces only the budgets given", () => {
    const config = withBudgets(DEFAULT_GUARDRAILS, { latencyBudgetMs: 500 });
    expect(config).toEqual({ ...DEFAULT_GUARDRAILS, latencyBudgetMs: 500 });
    expect(withBudgets(DEFAULT_GUARDRAILS, {})).toBe(DEFAULT_GUARDRAILS);
  });

  it("is wired from the bindings (the Worker tests run with generous budgets)", () => {
    expect(servicesFromEnv(env, () => {}).budgets).toEqual({
      latencyBudgetMs: Number(GENEROUS_BUDGETS.DECIDE_LATENCY_BUDGET_MS),
      coldStartBudgetMs: Number(GENEROUS_BUDGETS.DECIDE_COLD_START_BUDGET_MS),
    });
  });
});

describe("decideWithServices applies them over the configuration", () => {
  // A model that takes 30 ms to score, against a configured ranking budget of 5 ms.
  const slow: Scorer = {
    version: "slow@000000000000",
    manifest: { version: 1, name: "slow", features: ["page_category_match"], output: "score" },
    score: (_, rows) => new Promise((resolve) => setTimeout(() => resolve(new Float32Array(rows).fill(1)), 30)),
  };
  const services = async (budgets: Services["budgets"]): Promise<Services> =>
    ({
      catalog: staticCatalogStore(),
      models: { select: async () => ({ serving: slow, arm: "champion", shadows: [] }) },
      guardrails: { current: async () => ({ version: 1, config: { ...DEFAULT_GUARDRAILS, latencyBudgetMs: 5 }, author: "test", createdAt: 0 }) },
      campaignHoldouts: async () => ({ campaigns: {} }),
      visitorState: memoryVisitorState().client,
      audit: { write: async () => {} },
      newId: () => crypto.randomUUID(),
      now: Date.now,
      holdout: { rate: 0, salt: "budgets" },
      epsilon: 0,
      ...(budgets ? { budgets } : {}),
    }) as unknown as Services;
  const request = decideRequestSchema.parse({ visitorId: "budget-visitor", slots: ["hero"], consent: { personalization: true }, context: { signals: { pageCategory: "bags" } } });

  it.each([
    { name: "the configuration's 5 ms", budgets: undefined, reason: "fallback" },
    { name: "an environment budget of 10 s", budgets: { latencyBudgetMs: 10_000 }, reason: "ranked" },
  ])("$name → $reason", async ({ budgets, reason }) => {
    const { decisions } = await decideWithServices(request, await services(budgets), () => {});
    expect(decisions[0]!.reason).toBe(reason);
  });
});
