import { auditRecords } from "../audit/from-decision.ts";
import type { Services } from "../services.ts";
import { EMPTY_PROFILE } from "../identity/schema.ts";
import { visitorKey } from "../visitor/key.ts";
import { withBudgets } from "./budgets.ts";
import { decide, type DecideResult } from "./decide.ts";
import { pageUrl } from "./page-url.ts";
import type { DecideRequest } from "./schema.ts";

/** A decision with the configuration version it was made under. */
export interface ServiceDecision extends DecideResult {
  guardrailsVersion: number;
  /** False for a debug decide that did not ask to be recorded. */
  recorded: boolean;
}

/** Runs work after the answer is sent (`ctx.waitUntil`), so it adds nothing to the latency. */
export type Defer = (work: Promise<unknown>) => void;

/**
 * Runs the decision pipeline with the request's services: one entry point shared by the decide
 * API and the edge proxy, so both apply exactly the same guardrails, holdouts and models, and both
 * write the audit log.
 */
export async function decideWithServices(given: DecideRequest, services: Services, defer: Defer, country?: string): Promise<ServiceDecision> {
  const started = services.now();
  // Before anything sees or records it: no fragment, only allowed query parameters (page-url.ts).
  const url = given.context.url === undefined ? undefined : pageUrl(given.context.url, services.pageUrlParams) || undefined;
  // The kill switch (worker/kill-switch/): decided as without personalisation consent — every
  // slot its default with reason "default", no model, no visitor state, nothing logged.
  const [catalog, guardrails, campaignHoldouts, killed, moments] = await Promise.all([services.catalog.get(), services.guardrails.current(), services.campaignHoldouts(), services.killSwitch?.(), services.moments?.current()]);
  const consent = killed?.on ? { ...given.consent, personalization: false } : given.consent;
  const request: DecideRequest = { ...given, consent, context: { ...given.context, url } };
  if (url === undefined) delete request.context.url;
  // A debug decide records nothing (caps, audit) unless it asks to.
  const record = !request.debug || request.record;
  const result = await decide(request, {
    catalog,
    guardrails: withBudgets(guardrails.config, services.budgets),
    models: (visitorId) => services.models.select(visitorId),
    visitorState: services.visitorState,
    profile: async (visitorId) => (await services.visitorState(visitorId).profile?.()) ?? EMPTY_PROFILE,
    newId: services.newId,
    now: services.now,
    holdout: services.holdout,
    campaignHoldouts,
    epsilon: services.epsilon,
    ...(country ? { country } : {}),
    record,
    // Moments (worker/moments/): only when some are configured.
    ...(moments?.config.moments.length ? { moments: moments.config } : {}),
  });
  if (record && request.consent.personalization) {
    const latencyMs = Math.max(0, services.now() - started);
    const campaigns = new Map(catalog.blocks.map((b) => [b.id, b.campaign]));
    defer(
      (async () => {
        const records = auditRecords({ request, result, visitorKey: await visitorKey(request.visitorId), time: started, latencyMs, campaignOf: (id) => campaigns.get(id) ?? null });
        await services.audit.write(records);
      })().catch((err) => console.error("audit write failed:", err instanceof Error ? err.message : err)),
    );
  }
  return { ...result, guardrailsVersion: guardrails.version, recorded: record };
}

/** The ISO country Cloudflare attaches to a request (absent locally unless simulated). */
export function requestCountry(request: Request): string | undefined {
  const country = (request.cf as { country?: unknown } | undefined)?.country;
  return typeof country === "string" && /^[A-Z]{2}$/.test(country) ? country : undefined;
}
