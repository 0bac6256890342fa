import type { ActionCatalogStore } from "./actions/store.ts";
import type { AuditSink } from "./audit/record.ts";
import type { CatalogStore } from "./catalog/store.ts";
import type { BudgetOverrides } from "./decide/budgets.ts";
import type { VisitorStateClient } from "./decide/decide.ts";
import type { EventStore } from "./events/store.ts";
import type { GuardrailStore } from "./guardrails/store.ts";
import type { CampaignHoldoutConfig } from "./holdout/campaign.ts";
import type { HoldoutConfig } from "./holdout/assign.ts";
import type { MomentStore } from "./moments/store.ts";
import type { ScorerProvider } from "./ranking/active-model.ts";
import type { WriteLimits } from "./ratelimit/limits.ts";
import type { ActionScheduler } from "./next-action/scheduler.ts";

/** Capabilities a request handler uses, wired once per request by the init middleware. */
export interface Services {
  catalog: CatalogStore;
  models: ScorerProvider;
  guardrails: GuardrailStore;
  /** Per-campaign holdouts (KV `holdouts:campaigns`). */
  campaignHoldouts: () => Promise<CampaignHoldoutConfig>;
  /** The visitor's Durable Object (exposures, caps); only used with personalisation consent. */
  visitorState: (visitorId: string) => VisitorStateClient;
  /** The decision audit log: one row per slot decision (worker/audit/record.ts). */
  audit: AuditSink;
  /** Page events: impressions, clicks, conversions, custom events. */
  events: EventStore;
  newId: () => string;
  now: () => number;
  holdout: HoldoutConfig;
  epsilon: number;
  /** Decide budgets the environment imposes over the guardrails' (worker/decide/budgets.ts). */
  budgets?: BudgetOverrides;
  /** Query parameters page URLs keep besides `utm_*` (PAGE_URL_PARAMS; worker/decide/page-url.ts). */
  pageUrlParams?: string[];
  /** The kill switch as this isolate serves it (worker/kill-switch/store.ts): on = no personalisation. */
  killSwitch?: () => Promise<{ on: boolean }>;
  /** Rate limits of the public write routes (worker/ratelimit/). */
  writeLimits?: WriteLimits;
  /** The moments configuration (worker/moments/); absent: no moments. */
  moments?: MomentStore;
  /** The catalog of outbound actions (worker/actions/). */
  actions: ActionCatalogStore;
  /** Keeps decided outbound actions for delivery at `sendAt` (worker/next-action/scheduler.ts). */
  scheduler: ActionScheduler;
}

/** Hono environment of the app: bindings plus the wired services. */
export interface AppEnv {
  Bindings: Env;
  Variables: { services: Services };
}
