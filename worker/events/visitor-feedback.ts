/**
 * Events that change what a visitor is shown next, applied to their Durable Object (only with
 * personalisation consent, as all visitor state):
 * - a conversion marks its decision's campaign as converted (the "already converted" guardrail);
 * - an impression corrects the exposures: a served block that serving could not record (the
 *   visitor's object was unreachable) is counted for frequency caps; one already recorded is not
 *   counted twice.
 * A conversion's campaign comes from the visitor's own object when it served the decision (so a
 * conversion sent right after its decision counts before the log pipeline has stored it), else
 * from the audit log; either way the decision must be this visitor's.
 */
import { visitorKey } from "../visitor/key.ts";
import type { AcceptedEvent } from "./ingest.ts";

/** An impression or conversion that was stored, sent with personalisation consent. */
export interface Feedback {
  type: "impression" | "conversion";
  visitorId: string;
  decisionId: string;
}

/**
 * The feedback among the events a request stored (worker/events/ingest.ts `stored`): never the
 * raw body, so an event refused as invalid or without analytics consent changes no state.
 */
export function consentedFeedback(stored: readonly AcceptedEvent[]): Feedback[] {
  return stored.flatMap(({ event, personalization }) =>
    personalization && (event.type === "conversion" || event.type === "impression") && event.decisionId
      ? [{ type: event.type, visitorId: event.visitorId, decisionId: event.decisionId }]
      : [],
  );
}

/** Applies the feedback; returns how many changed the visitor's state. */
export async function applyFeedback(env: Pick<Env, "DB" | "VISITOR">, feedback: Feedback[], now: number, isDefaultBlock: (blockId: string) => boolean): Promise<number> {
  let applied = 0;
  for (const { type, visitorId, decisionId } of feedback) {
    const key = await visitorKey(visitorId);
    const visitor = env.VISITOR.get(env.VISITOR.idFromName(key));
    const served = type === "conversion" ? await visitor.campaignOfDecision(decisionId) : null;
    if (served) {
      await visitor.markConverted(served, now);
      applied++;
      continue;
    }
    const row = await env.DB.prepare("SELECT time, chosen_block_id, campaign, reason FROM decisions WHERE decision_id = ? AND visitor_key = ?")
      .bind(decisionId, key)
      .first<{ time: number; chosen_block_id: string; campaign: string | null; reason: string }>();
    if (!row?.campaign) continue;
    if (type === "conversion") {
      await visitor.markConverted(row.campaign, now);
      applied++;
    } else if (row.reason === "ranked" || row.reason === "fallback") {
      const personalized = !isDefaultBlock(row.chosen_block_id);
      if (await visitor.recordImpression({ decisionId, blockId: row.chosen_block_id, campaign: row.campaign, personalized, at: row.time }, now)) applied++;
    }
  }
  return applied;
}
