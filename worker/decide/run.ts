import type { Services } from "../services.ts";
import { decide, type DecideResult } from "./decide.ts";
import type { DecideRequest } from "./schema.ts";

/** A decision with the configuration version it was made under. */
export interface ServiceDecision extends DecideResult {
  guardrailsVersion: number;
}

/**
 * Runs the decision pipeline with the request's services: one entry point shared by the decide
 * API and the edge proxy, so both apply exactly the same guardrails, holdouts and models.
 */
export async function decideWithServices(request: DecideRequest, services: Services, country?: string): Promise<ServiceDecision> {
  const [catalog, guardrails] = await Promise.all([services.catalog.get(), services.guardrails.current()]);
  const result = await decide(request, {
    catalog,
    guardrails: guardrails.config,
    models: (visitorId) => services.models.select(visitorId),
    visitorState: services.visitorState,
    newId: services.newId,
    now: services.now,
    holdout: services.holdout,
    epsilon: services.epsilon,
    ...(country ? { country } : {}),
  });
  return { ...result, guardrailsVersion: guardrails.version };
}

/** The ISO country Cloudflare attaches to a request (absent locally unless simulated). */
export function requestCountry(request: Request): string | undefined {
  const country = (request.cf as { country?: unknown } | undefined)?.country;
  return typeof country === "string" && /^[A-Z]{2}$/.test(country) ? country : undefined;
}
