/**
 * Conversions feed the "already converted on this campaign" guardrail: a conversion on a decision
 * marks the decision's campaign as converted in the visitor's Durable Object, so its blocks are
 * no longer shown to them. Only with personalisation consent, as all visitor state.
 */
import { visitorKey } from "../visitor/key.ts";

interface ConversionLike {
  type?: unknown;
  decisionId?: unknown;
  visitorId?: unknown;
  consent?: { personalization?: unknown };
}

/** The (visitor, decision) pairs of a batch's conversions made with personalisation consent. */
export function consentedConversions(body: unknown): Array<{ visitorId: string; decisionId: string }> {
  const batch = body as { events?: unknown; consent?: { personalization?: unknown } } | null;
  if (!batch || !Array.isArray(batch.events)) return [];
  return (batch.events as ConversionLike[])
    .filter((e) => e?.type === "conversion" && typeof e.decisionId === "string" && typeof e.visitorId === "string")
    .filter((e) => (e.consent?.personalization ?? batch.consent?.personalization) === true)
    .map((e) => ({ visitorId: e.visitorId as string, decisionId: e.decisionId as string }));
}

/** Marks each conversion's campaign (looked up in the audit log) as converted for the visitor. */
export async function markConversions(env: Pick<Env, "DB" | "VISITOR">, conversions: Array<{ visitorId: string; decisionId: string }>, now: number): Promise<number> {
  let marked = 0;
  for (const { visitorId, decisionId } of conversions) {
    const key = await visitorKey(visitorId);
    // The decision must be this visitor's: an event cannot mark someone else's campaign.
    const row = await env.DB.prepare("SELECT campaign FROM decisions WHERE decision_id = ? AND visitor_key = ?").bind(decisionId, key).first<{ campaign: string | null }>();
    if (!row?.campaign) continue;
    await env.VISITOR.get(env.VISITOR.idFromName(key)).markConverted(row.campaign, now);
    marked++;
  }
  return marked;
}
