/**
 * Builds the audit rows of one decide request from the decision pipeline's result: one row per
 * slot, with the candidates the served block was drawn from, their features and scores (aligned),
 * exclusions with reason codes, propensity, holdout and the models involved.
 */
import type { DecideResult } from "../decide/decide.ts";
import type { DecideRequest } from "../decide/schema.ts";
import { HASH_VERSION } from "../holdout/hash.ts";
import { float32Shortener } from "./float32.ts";
import type { AuditRecord } from "./record.ts";

export interface AuditContext {
  request: DecideRequest;
  result: DecideResult;
  visitorKey: string;
  time: number;
  latencyMs: number;
  /** Campaign of each block id (the catalog's). */
  campaignOf: (blockId: string) => string | null;
}

/** One record per slot; none for requests without personalisation consent (nothing is stored). */
export function auditRecords({ request, result, visitorKey, time, latencyMs, campaignOf }: AuditContext): AuditRecord[] {
  if (!request.consent.personalization) return [];
  const run = result.run;
  const rowOf = new Map<string, number>();
  run?.blockIds.forEach((id, i) => rowOf.set(id, i));
  // Features and scores are float32 (the model's tensors): logged as their shortest decimal
  // (0.4, not 0.4000000059604645), which reads back as the same float32 (float32.ts).
  const short = float32Shortener();
  return result.traces.map((t, i) => {
    const decision = result.decisions[i]!;
    const rows = t.pool.map((id) => rowOf.get(id));
    const withModel = run !== undefined && rows.every((r) => r !== undefined);
    return {
      time,
      decisionId: t.decisionId,
      visitorKey,
      slot: t.slot,
      page: request.context.url ?? null,
      reason: t.reason,
      consent: { personalization: request.consent.personalization, analytics: request.consent.analytics },
      candidates: t.pool,
      excluded: t.excluded.map((e) => ({ blockId: e.blockId, reason: e.reason })),
      featureNames: withModel ? run.featureNames : [],
      features: withModel ? rows.map((r) => run.features[r!]!.map(short)) : [],
      scores: withModel ? rows.map((r) => short(run.scores[r!]!)) : [],
      chosenBlockId: t.chosenBlockId,
      propensity: t.propensity,
      ...(t.explored ? { explored: true } : {}),
      holdout: t.holdoutScope !== undefined,
      holdoutScope: t.holdoutScope ?? null,
      counterfactualBlockId: t.counterfactualBlockId ?? null,
      counterfactualCampaign: t.counterfactualBlockId ? campaignOf(t.counterfactualBlockId) : null,
      campaign: campaignOf(decision.block.id),
      modelVersion: decision.modelVersion ?? (t.reason === "holdout" && run ? run.version : null),
      arm: result.arm ?? "champion",
      shadows: t.shadows.map((s) => ({ modelVersion: s.version, chosenBlockId: s.chosenBlockId ?? null, scores: t.pool.map((id) => short(s.scores[id] ?? 0)) })),
      latencyMs,
      ...(result.fallbackCause && t.reason === "fallback" ? { fallbackCause: result.fallbackCause } : {}),
      hashVersion: HASH_VERSION,
      ...(t.exposure ? { exposureOrdinal: t.exposure } : {}),
      ...(result.moments ? { moments: result.moments.map((m) => m.id), momentKpis: result.moments.map((m) => ({ ...m.kpi })) } : {}),
      ...(withModel && run.arbitration
        ? {
            arbitration: {
              formula: run.arbitration.formula,
              outcomes: (run.outcomes ?? []).map((o) => ({ outcome: o.outcome, modelVersion: o.version })),
              // The propensities are the outcome models' float32 scores (shortest, as `scores`);
              // the priority is computed in double precision and logged as it is.
              factors: rows.map((r) => {
                const { formula: _, propensities, ...f } = run.arbitration!.factors[r!]!;
                return { propensities: Object.fromEntries(Object.entries(propensities).map(([o, p]) => [o, short(p)])), ...f };
              }),
            },
          }
        : {}),
    };
  });
}
