import type { CatalogStore } from "./catalog/store.ts";
import type { VisitorStateClient } from "./decide/decide.ts";
import type { GuardrailStore } from "./guardrails/store.ts";
import type { HoldoutConfig } from "./holdout/assign.ts";
import type { ScorerProvider } from "./ranking/active-model.ts";

/** Capabilities a request handler uses, wired once per request by the init middleware. */
export interface Services {
  catalog: CatalogStore;
  models: ScorerProvider;
  guardrails: GuardrailStore;
  /** The visitor's Durable Object (exposures, caps); only used with personalisation consent. */
  visitorState: (visitorId: string) => VisitorStateClient;
  newId: () => string;
  now: () => number;
  holdout: HoldoutConfig;
  epsilon: number;
}

/** Hono environment of the app: bindings plus the wired services. */
export interface AppEnv {
  Bindings: Env;
  Variables: { services: Services };
}
