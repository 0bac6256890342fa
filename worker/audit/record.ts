import { z } from "zod";

/**
 * One row of the decision audit log: everything needed to explain a slot decision, replay it
 * through another model (off-policy evaluation) and compare treatment with control. Visitors are
 * identified only by `visitorKey(visitorId)` (worker/visitor/key.ts): raw ids are never stored.
 *
 * Arrays that describe candidates are aligned: `features[i]` and `scores[i]` belong to
 * `candidates[i]`. `candidates` should be the set the served block was drawn from (after
 * exclusions and after blocks already used on the page), so that `propensity` is the probability
 * of `chosenBlockId` among exactly these candidates.
 */
export const auditRecordSchema = z.object({
  /** Decision time, ms since the epoch. */
  time: z.number().int().nonnegative(),
  decisionId: z.string().min(1).max(128),
  /** `visitorKey(visitorId)`: pseudonymous, never the raw id. */
  visitorKey: z.string().regex(/^[0-9a-f]{32}$/, "a visitorKey(), not a raw visitor id"),
  slot: z.string().min(1).max(64),
  /** Page URL of the request, when the client sent one. */
  page: z.string().max(2048).nullable(),
  /** The answer's reason: ranked, holdout, fallback or default. */
  reason: z.enum(["ranked", "holdout", "fallback", "default"]),
  /** The consent the request carried; the lift report only counts visitors measurable by events. */
  consent: z.object({ personalization: z.boolean(), analytics: z.boolean() }),
  /** Candidate block ids, in the order of `features` and `scores`. */
  candidates: z.array(z.string()),
  /** Blocks removed by guardrails, each with its reason code. */
  excluded: z.array(z.object({ blockId: z.string(), reason: z.string() })),
  /** The serving model's manifest features (column order of `features`); empty without a model. */
  featureNames: z.array(z.string()),
  /** Feature values per candidate; empty without a model. */
  features: z.array(z.array(z.number())),
  /** Model score per candidate; empty without a model. */
  scores: z.array(z.number()),
  chosenBlockId: z.string().min(1),
  /** Probability of choosing `chosenBlockId`; 1 for deterministic answers, null if unknown. */
  propensity: z.number().min(0).max(1).nullable(),
  /** True when exploration, not the best rank, picked the block. */
  explored: z.boolean().optional(),
  /** True when the visitor is in a control group and got the control (default) block. */
  holdout: z.boolean(),
  /** Which control group: the universal one, or a campaign's own holdout. */
  holdoutScope: z.enum(["universal", "campaign"]).nullable().optional(),
  /** For holdout decisions: the block the model would have chosen; null otherwise. */
  counterfactualBlockId: z.string().nullable(),
  /** The campaign of `counterfactualBlockId` (the lift report's campaign filter uses it). */
  counterfactualCampaign: z.string().nullable().optional(),
  /** Campaign of the chosen block. */
  campaign: z.string().nullable(),
  /** Version of the model that ranked (or, for holdouts, would have ranked); null without one. */
  modelVersion: z.string().nullable(),
  arm: z.enum(["champion", "challenger"]),
  /** Shadow models: scored on the same candidates, their choice logged, never served. */
  shadows: z.array(z.object({ modelVersion: z.string(), chosenBlockId: z.string().nullable(), scores: z.array(z.number()) })),
  /** Why a `fallback` decision fell back (worker/decide/decide.ts FallbackCause); absent otherwise. */
  fallbackCause: z.enum(["model_load", "cold_start_budget", "latency_budget", "ranking_error", "visitor_state"]).nullable().optional(),
  /** Time spent deciding the request, ms. */
  latencyMs: z.number().nonnegative(),
  /** Version of the hashing used for holdout and exploration (holdout/hash.ts HASH_VERSION). */
  hashVersion: z.string().min(1),
  /**
   * The visitor's view count of the chosen block with this decision (1 = first view), from the
   * visitor's Durable Object; absent when unknown (holdouts, fallback without visitor state).
   */
  exposureOrdinal: z.number().int().min(1).nullable().optional(),
  /**
   * Configured arbitration (worker/arbitration/): the formula, the other outcomes' models and,
   * aligned with `candidates`, every factor of each priority. Absent when one model ranked by
   * p × value (the default).
   */
  arbitration: z
    .object({
      formula: z.string(),
      outcomes: z.array(z.object({ outcome: z.string(), modelVersion: z.string() })),
      factors: z.array(
        z.object({
          propensities: z.record(z.string(), z.number()),
          weights: z.record(z.string(), z.number()),
          value: z.number(),
          contextWeight: z.number(),
          lever: z.number(),
          priority: z.number(),
        }),
      ),
    })
    .optional(),
  /**
   * The moments the visitor was in at this decision (worker/moments/), by id; absent when no moment
   * is configured. `momentKpis` is aligned with it: each moment's KPI and attribution window then.
   */
  moments: z.array(z.string().min(1).max(64)).max(50).optional(),
  momentKpis: z.array(z.object({ event: z.string().min(1).max(64), windowSeconds: z.number().int().positive() })).max(50).optional(),
  /**
   * Next-action decisions (worker/next-action/; `slot` is "next-action", `chosenBlockId` the action
   * id or "none", `visitorKey` the customer's HMAC key): channel, send time and its propensities.
   */
  nextAction: z
    .object({
      channel: z.string().nullable(),
      contentRef: z.string().nullable(),
      moment: z.string().nullable(),
      /** ISO 8601 with the customer's offset; null without an action. */
      sendAt: z.string().nullable(),
      timeZone: z.string(),
      hourOfWeek: z.number().int().min(0).max(167).nullable(),
      /** best | fallback | explored | immediate. */
      sendTimeMethod: z.string().nullable(),
      /** Probability of the chosen hour given the channel, and of the chosen action. */
      hourPropensity: z.number().min(0).max(1).nullable(),
      actionPropensity: z.number().min(0).max(1).nullable(),
      /** Model propensity per channel (its best action's). */
      channelPropensities: z.record(z.string(), z.number()),
      triggerAt: z.number(),
      catalogVersion: z.number().int().min(0),
      scheduled: z.boolean(),
      /**
       * In a moment: its KPI and attribution window at decision time, and the customer's
       * channel-feedback key (visitorKey(customer key)) — what the outbound lift by moment counts
       * from (worker/moments/outbound-aggregates.ts). Absent outside a moment or for an unknown one.
       */
      momentKpi: z.object({ event: z.string().min(1).max(64), windowSeconds: z.number().int().positive() }).optional(),
      feedbackKey: z.string().regex(/^[0-9a-f]{32}$/).optional(),
    })
    .optional(),
});

/** One slot decision as the decide route writes it. */
export type AuditRecord = z.input<typeof auditRecordSchema>;

/** Where decisions are recorded. Writes are idempotent per decisionId. */
export interface AuditSink {
  write(records: AuditRecord[]): Promise<void>;
}

/** In-memory sink for unit tests: keeps the records in order, ignores repeated decision ids. */
export function memoryAuditSink(): AuditSink & { records: AuditRecord[] } {
  const records: AuditRecord[] = [];
  const seen = new Set<string>();
  return {
    records,
    async write(batch) {
      for (const r of batch) {
        if (seen.has(r.decisionId)) continue;
        seen.add(r.decisionId);
        records.push(structuredClone(r));
      }
    },
  };
}
