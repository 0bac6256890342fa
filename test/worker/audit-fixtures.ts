import { env } from "cloudflare:workers";
import { d1AuditSink } from "../../worker/audit/d1.ts";
import type { AuditRecord } from "../../worker/audit/record.ts";
import { HASH_VERSION } from "../../worker/holdout/hash.ts";
import { visitorKey } from "../../worker/visitor/key.ts";
import { call } from "./helpers.ts";

/** Admin headers of the Worker tests. */
export const ADMIN = { authorization: "Bearer test-admin-token" };

/** GETs an admin route. */
export function adminGet(path: string): Promise<Response> {
  return call(path, { headers: ADMIN });
}

/** A complete audit record; `visitorId` is hashed into `visitorKey`. */
export async function auditRecord(over: Partial<AuditRecord> & { visitorId?: string } = {}): Promise<AuditRecord> {
  const { visitorId = "visitor-1", ...rest } = over;
  return {
    time: 1_764_000_000_000,
    decisionId: crypto.randomUUID(),
    visitorKey: await visitorKey(visitorId),
    slot: "hero",
    page: "https://shop.example/shoes.html",
    reason: "ranked",
    consent: { personalization: true, analytics: true },
    candidates: ["hero-shoes-trail", "hero-default"],
    excluded: [{ blockId: "hero-bags-travel", reason: "frequency_cap" }],
    featureNames: ["page_category_match", "block_default"],
    features: [
      [1, 0],
      [0, 1],
    ],
    scores: [0.4, 0.1],
    chosenBlockId: "hero-shoes-trail",
    propensity: 0.975,
    explored: false,
    holdout: false,
    holdoutScope: null,
    counterfactualBlockId: null,
    counterfactualCampaign: null,
    campaign: "spring-shoes",
    modelVersion: "nextbest-default@abcdef012345",
    arm: "champion",
    shadows: [{ modelVersion: "shadow@1", chosenBlockId: "hero-default", scores: [0.2, 0.3] }],
    latencyMs: 1.5,
    hashVersion: HASH_VERSION,
    ...rest,
  };
}

/** Writes records through the production sink. */
export function writeAudit(records: AuditRecord[]): Promise<void> {
  return d1AuditSink(env.DB).write(records);
}

/** Inserts an event row directly (for reports and exports with exact times). */
export async function insertEvent(e: { id?: string; time: number; type: string; name?: string; decisionId?: string | null; visitorId: string; value?: number | null; currency?: string | null }): Promise<void> {
  await env.DB.prepare("INSERT INTO events (id, time, type, name, decision_id, visitor_key, value, currency) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
    .bind(e.id ?? crypto.randomUUID(), e.time, e.type, e.name ?? null, e.decisionId ?? null, await visitorKey(e.visitorId), e.value ?? null, e.currency ?? null)
    .run();
}
