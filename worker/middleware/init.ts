import type { MiddlewareHandler } from "hono";
import { d1AuditSink } from "../audit/d1.ts";
import { kvCatalogStore } from "../catalog/store.ts";
import { budgetOverridesFromEnv } from "../decide/budgets.ts";
import { d1EventStore } from "../events/store.ts";
import { d1GuardrailStore } from "../guardrails/store.ts";
import { loadCampaignHoldouts, type CampaignHoldoutConfig } from "../holdout/campaign.ts";
import { visitorStateClient } from "../visitor/client.ts";
import { registryModelProvider } from "../models/runtime.ts";
import type { AppEnv, Services } from "../services.ts";

let holdoutsCache: { value: Promise<CampaignHoldoutConfig>; at: number } | undefined;
/** Campaign holdouts from KV, cached per isolate for 10 s like the rest of the configuration. */
function cachedCampaignHoldouts(kv: KVNamespace, now: () => number = Date.now) {
  return () => {
    if (!holdoutsCache || now() - holdoutsCache.at >= 10_000) holdoutsCache = { value: loadCampaignHoldouts(kv), at: now() };
    return holdoutsCache.value;
  };
}

function rate(value: string | undefined, fallback: number): number {
  const n = Number(value);
  return Number.isFinite(n) && n >= 0 && n <= 1 ? n : fallback;
}

/** Builds the production services from the bindings. */
export function servicesFromEnv(env: Env): Services {
  return {
    catalog: kvCatalogStore(env.CONFIG),
    models: registryModelProvider(env),
    guardrails: d1GuardrailStore(env.DB, env.CONFIG),
    campaignHoldouts: cachedCampaignHoldouts(env.CONFIG),
    visitorState: visitorStateClient(env.VISITOR),
    audit: d1AuditSink(env.DB),
    events: d1EventStore(env.DB),
    newId: () => crypto.randomUUID(),
    now: Date.now,
    holdout: { rate: rate(env.HOLDOUT_RATE, 0.05), salt: env.HOLDOUT_SALT || "nextbest-ucg-v1" },
    epsilon: rate(env.EXPLORATION_EPSILON, 0.05),
    budgets: budgetOverridesFromEnv(env),
  };
}

/**
 * Wires the services once per request. `override` lets tests swap in deterministic ones.
 */
export function init(override?: (env: Env) => Partial<Services>): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    c.set("services", { ...servicesFromEnv(c.env), ...override?.(c.env) });
    await next();
  };
}
