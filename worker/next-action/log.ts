/** The next-action answer and its audit record (the decision log's row; worker/audit/record.ts). */
import { float32Shortener } from "../audit/float32.ts";
import type { AuditRecord } from "../audit/record.ts";
import { isoWithOffset, type NextActionResult } from "./decide.ts";

export interface LogContext {
  customerKey: string;
  moment: string | undefined;
  triggerAt: number;
  now: number;
  holdout: boolean;
  scheduled: boolean;
  catalogVersion: number;
  latencyMs: number;
  hashVersion: string;
  /** The moment's KPI at decision time (moments configuration), when `moment` is a configured one. */
  momentKpi?: { event: string; windowSeconds: number } | undefined;
  /** visitorKey(customerKey): the key of the customer's channel feedback events (migrations/0018). */
  feedbackKey?: string | undefined;
}

/** The chosen action as the answer shows it (also the counterfactual of a held-out customer). */
function chosen(r: NextActionResult) {
  if (!r.action || !r.timing) return null;
  return { channel: r.action.channel, actionId: r.action.id, contentRef: r.action.contentRef, sendAt: isoWithOffset(r.timing.sendAt, r.timeZone) };
}

/** The JSON answer of `POST /v1/next-action`. */
export function nextActionAnswer(r: NextActionResult, ctx: { holdout: boolean; scheduled: boolean; moment: string | undefined }) {
  const pick = chosen(r);
  const send = !ctx.holdout && pick;
  const hour = r.timing?.propensity ?? null;
  return {
    decisionId: r.decisionId,
    channel: send ? pick.channel : null,
    actionId: send ? pick.actionId : null,
    contentRef: send ? pick.contentRef : null,
    sendAt: send ? pick.sendAt : null,
    timeZone: r.timeZone,
    moment: ctx.moment ?? null,
    holdout: ctx.holdout,
    ...(ctx.holdout ? { counterfactual: pick } : {}),
    scheduled: ctx.scheduled,
    sendTime: r.timing ? { method: r.timing.method, hourOfWeek: r.timing.hourOfWeek } : null,
    propensities: {
      /** Model propensity per channel and per action. */
      channels: r.channelPropensities,
      actions: r.scores,
      /** Probability this policy picks the chosen action, the chosen hour, and both. */
      action: r.actionPropensity,
      hour,
      chosen: r.actionPropensity !== null && hour !== null ? r.actionPropensity * hour : null,
    },
    modelVersion: r.modelVersion,
    reasons: r.reasons,
    excluded: r.excluded,
  };
}

/** The audit row: `slot` "next-action", the customer key in `visitorKey`, details in `nextAction`. */
export function nextActionRecord(r: NextActionResult, ctx: LogContext): AuditRecord {
  const pick = chosen(r);
  const propensity = r.actionPropensity !== null && r.timing ? r.actionPropensity * r.timing.propensity : null;
  // Scores are the model's float32 outputs: logged in their shortest form, as decide's (float32.ts).
  const short = float32Shortener();
  return {
    time: ctx.now,
    decisionId: r.decisionId,
    visitorKey: ctx.customerKey,
    slot: "next-action",
    page: null,
    reason: ctx.holdout ? "holdout" : pick ? "ranked" : "default",
    consent: { personalization: true, analytics: true },
    candidates: r.candidates,
    excluded: r.excluded.map((e) => ({ blockId: e.actionId, reason: e.reason })),
    featureNames: [],
    features: [],
    scores: r.candidates.map((id) => short(r.scores[id] ?? 0)),
    chosenBlockId: ctx.holdout || !pick ? "none" : pick.actionId,
    propensity: ctx.holdout ? 1 : propensity,
    explored: r.reasons.includes("explored_action") || r.reasons.includes("explored_hour"),
    holdout: ctx.holdout,
    holdoutScope: ctx.holdout ? "universal" : null,
    counterfactualBlockId: ctx.holdout && pick ? pick.actionId : null,
    campaign: pick ? `channel:${pick.channel}` : null,
    modelVersion: r.modelVersion,
    arm: "champion",
    shadows: [],
    latencyMs: ctx.latencyMs,
    hashVersion: ctx.hashVersion,
    nextAction: {
      channel: pick?.channel ?? null,
      contentRef: pick?.contentRef ?? null,
      moment: ctx.moment ?? null,
      sendAt: pick?.sendAt ?? null,
      timeZone: r.timeZone,
      hourOfWeek: r.timing?.hourOfWeek ?? null,
      sendTimeMethod: r.timing?.method ?? null,
      hourPropensity: r.timing?.propensity ?? null,
      actionPropensity: r.actionPropensity,
      channelPropensities: Object.fromEntries(Object.entries(r.channelPropensities).map(([channel, p]) => [channel, short(p)])),
      triggerAt: ctx.triggerAt,
      catalogVersion: ctx.catalogVersion,
      scheduled: ctx.scheduled,
      // What the outbound lift by moment counts (worker/moments/outbound-aggregates.ts).
      ...(ctx.moment && ctx.momentKpi && ctx.feedbackKey ? { momentKpi: { event: ctx.momentKpi.event, windowSeconds: ctx.momentKpi.windowSeconds }, feedbackKey: ctx.feedbackKey } : {}),
    },
  };
}
