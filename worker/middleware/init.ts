import type { MiddlewareHandler } from "hono";
import { d1ActionCatalogStore } from "../actions/store.ts";
import { activationScheduler } from "../activation/schedule.ts";
import { kvCatalogStore } from "../catalog/store.ts";
import { budgetOverridesFromEnv } from "../decide/budgets.ts";
import { d1GuardrailStore } from "../guardrails/store.ts";
import { d1MomentStore } from "../moments/store.ts";
import { cachedCampaignHoldouts } from "../holdout/campaign.ts";
import { visitorStateClient } from "../visitor/client.ts";
import { registryModelProvider } from "../models/runtime.ts";
import type { Defer } from "../decide/run.ts";
import { queueAuditSink, queueEventStore } from "../pipeline/producer.ts";
import { logProducer } from "../pipeline/wire.ts";
import { paramList } from "../decide/page-url.ts";
import { writeLimitsFromEnv } from "../ratelimit/limits.ts";
import { cachedKillSwitch } from "../kill-switch/store.ts";
import type { AppEnv, Services } from "../services.ts";

function rate(value: string | undefined, fallback: number): number {
  const n = Number(value);
  return Number.isFinite(n) && n >= 0 && n <= 1 ? n : fallback;
}

/**
 * Builds the production services from the bindings. `defer` runs work after the answer
 * (`ctx.waitUntil`): the log records are queued there (worker/pipeline/).
 */
export function servicesFromEnv(env: Env, defer: Defer): Services {
  const log = logProducer(env);
  return {
    // `defer` keeps a request that starts a shared read alive until it is done, even if its
    // client leaves (worker/isolate/shared-read.ts).
    catalog: kvCatalogStore(env.CONFIG, Date.now, undefined, env.DB, defer),
    models: registryModelProvider(env, defer),
    guardrails: d1GuardrailStore(env.DB, env.CONFIG, Date.now, defer),
    campaignHoldouts: () => cachedCampaignHoldouts(env.CONFIG, Date.now(), defer),
    visitorState: visitorStateClient(env.VISITOR),
    audit: queueAuditSink(log),
    events: queueEventStore(log, defer),
    newId: () => crypto.randomUUID(),
    now: Date.now,
    holdout: { rate: rate(env.HOLDOUT_RATE, 0.05), salt: env.HOLDOUT_SALT || "nextbest-ucg-v1" },
    epsilon: rate(env.EXPLORATION_EPSILON, 0.05),
    budgets: budgetOverridesFromEnv(env),
    writeLimits: writeLimitsFromEnv(env),
    pageUrlParams: paramList(env.PAGE_URL_PARAMS),
    killSwitch: () => cachedKillSwitch(env.DB, Date.now(), undefined, defer),
    moments: d1MomentStore(env.DB, env.CONFIG),
    actions: d1ActionCatalogStore(env.DB),
    // Outbound actions wait in the customer's Outbox until `sendAt` (worker/activation/).
    scheduler: activationScheduler(env),
  };
}

/**
 * Wires the services once per request. `override` lets tests swap in deterministic ones.
 */
export function init(override?: (env: Env) => Partial<Services>): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    c.set("services", { ...servicesFromEnv(c.env, (work) => c.executionCtx.waitUntil(work)), ...override?.(c.env) });
    await next();
  };
}
