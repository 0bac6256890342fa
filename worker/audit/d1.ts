import type { AuditRecord, AuditSink } from "./record.ts";

/** Column list of the `decisions` table, in insert order. */
const COLUMNS = [
  "decision_id", "time", "visitor_key", "slot", "page", "reason", "consent_personalization", "consent_analytics",
  "candidates", "excluded", "feature_names", "features", "scores", "chosen_block_id", "propensity", "explored",
  "holdout", "holdout_scope", "counterfactual_block_id", "counterfactual_campaign", "campaign", "model_version",
  "arm", "shadows", "latency_ms", "hash_version",
  "exposure_ordinal", "arbitration", "fallback_cause", "moments", "next_action",
] as const;

const INSERT = `INSERT OR IGNORE INTO decisions (${COLUMNS.join(", ")}) VALUES (${COLUMNS.map(() => "?").join(", ")})`;

/** A `decisions` row as D1 returns it. */
export interface DecisionRow {
  decision_id: string;
  time: number;
  visitor_key: string;
  slot: string;
  page: string | null;
  reason: string;
  consent_personalization: number;
  consent_analytics: number;
  candidates: string;
  excluded: string;
  feature_names: string;
  features: string;
  scores: string;
  chosen_block_id: string;
  propensity: number | null;
  explored: number;
  holdout: number;
  holdout_scope: string | null;
  counterfactual_block_id: string | null;
  counterfactual_campaign: string | null;
  campaign: string | null;
  model_version: string | null;
  arm: string;
  shadows: string;
  latency_ms: number;
  hash_version: string;
  exposure_ordinal?: number | null;
  /** JSON of the record's `arbitration`, or NULL (migrations/0010). */
  arbitration?: string | null;
  /** Why a fallback fell back (migrations/0013), or NULL. */
  fallback_cause?: string | null;
  /** JSON `[{ id, event, windowSeconds }]` of the record's `moments` and `momentKpis`, or NULL (migrations/0016). */
  moments?: string | null;
  /** JSON of the record's `nextAction`, or NULL (migrations/0017). */
  next_action?: string | null;
}

function bind(r: AuditRecord): unknown[] {
  const flag = (b: boolean | undefined) => (b ? 1 : 0);
  return [
    r.decisionId, r.time, r.visitorKey, r.slot, r.page ?? null, r.reason, flag(r.consent.personalization), flag(r.consent.analytics),
    JSON.stringify(r.candidates), JSON.stringify(r.excluded), JSON.stringify(r.featureNames), JSON.stringify(r.features),
    JSON.stringify(r.scores), r.chosenBlockId, r.propensity ?? null, flag(r.explored), flag(r.holdout),
    r.holdoutScope ?? (r.holdout ? "universal" : null), r.counterfactualBlockId ?? null, r.counterfactualCampaign ?? null,
    r.campaign ?? null, r.modelVersion ?? null, r.arm, JSON.stringify(r.shadows), r.latencyMs, r.hashVersion,
    r.exposureOrdinal ?? null,
    r.arbitration ? JSON.stringify(r.arbitration) : null,
    r.fallbackCause ?? null,
    r.moments ? JSON.stringify(r.moments.map((id, i) => ({ id, ...(r.momentKpis?.[i] ?? {}) }))) : null,
    r.nextAction ? JSON.stringify(r.nextAction) : null,
  ];
}

/** Turns a stored row back into the record that was written. */
export function rowToRecord(row: DecisionRow): AuditRecord {
  return {
    time: row.time,
    decisionId: row.decision_id,
    visitorKey: row.visitor_key,
    slot: row.slot,
    page: row.page,
    reason: row.reason as AuditRecord["reason"],
    consent: { personalization: row.consent_personalization === 1, analytics: row.consent_analytics === 1 },
    candidates: JSON.parse(row.candidates),
    excluded: JSON.parse(row.excluded),
    featureNames: JSON.parse(row.feature_names),
    features: JSON.parse(row.features),
    scores: JSON.parse(row.scores),
    chosenBlockId: row.chosen_block_id,
    propensity: row.propensity,
    explored: row.explored === 1,
    holdout: row.holdout === 1,
    holdoutScope: row.holdout_scope as AuditRecord["holdoutScope"],
    counterfactualBlockId: row.counterfactual_block_id,
    counterfactualCampaign: row.counterfactual_campaign,
    campaign: row.campaign,
    modelVersion: row.model_version,
    arm: row.arm as AuditRecord["arm"],
    shadows: JSON.parse(row.shadows),
    latencyMs: row.latency_ms,
    hashVersion: row.hash_version,
    ...(row.exposure_ordinal ? { exposureOrdinal: row.exposure_ordinal } : {}),
    ...(row.arbitration ? { arbitration: JSON.parse(row.arbitration) } : {}),
    ...(row.fallback_cause ? { fallbackCause: row.fallback_cause as AuditRecord["fallbackCause"] } : {}),
    ...(row.moments ? momentFields(JSON.parse(row.moments) as Array<{ id: string; event?: string; windowSeconds?: number }>) : {}),
    ...(row.next_action ? { nextAction: JSON.parse(row.next_action) } : {}),
  };
}

/** The record's `moments` and aligned `momentKpis` from the stored JSON. */
function momentFields(stored: Array<{ id: string; event?: string; windowSeconds?: number }>): Pick<AuditRecord, "moments" | "momentKpis"> {
  const kpis = stored.every((m) => m.event !== undefined && m.windowSeconds !== undefined);
  return { moments: stored.map((m) => m.id), ...(kpis ? { momentKpis: stored.map((m) => ({ event: m.event!, windowSeconds: m.windowSeconds! })) } : {}) };
}

/**
 * The production sink: one INSERT per record, sent as one D1 batch (one round trip, one
 * transaction). `INSERT OR IGNORE` on the decision id makes a retried write harmless.
 */
export function d1AuditSink(db: D1Database): AuditSink {
  const insert = db.prepare(INSERT);
  return {
    async write(records) {
      if (records.length === 0) return;
      await db.batch(records.map((r) => insert.bind(...bind(r))));
    },
  };
}

/** The `decisions` columns and a record's values in that order (the log consumer's batched insert). */
export const decisionColumns: readonly string[] = COLUMNS;
export const decisionValues: (r: AuditRecord) => unknown[] = bind;
