/**
 * The next-action decision core (plain functions, no Hono or binding types): guardrails first,
 * then the channel (model propensity per action, channel as a block attribute), then the time
 * (smoothed engagement by local hour of week), then the contact policy, checked and recorded
 * atomically by the customer's Durable Object through `deps.reserve`.
 */
import type { Action, ActionCatalog } from "../actions/schema.ts";
import type { Block } from "../catalog/schema.ts";
import { rankByModel } from "../decide/rank.ts";
import type { AccountTraits, ProfileTraits } from "../identity/schema.ts";
import type { Scorer } from "../ranking/scorer.ts";
import { chooseSendTime } from "../send-time/choose.ts";
import { smoothedRates, populationRates, type HourCounts } from "../send-time/shrinkage.ts";
import { hourSlots, isoWithOffset, localTime, localHourOfWeek } from "../send-time/tz.ts";
import type { ContactCandidate, ReserveInput, ReserveResult } from "./contact-store.ts";
import { conditionGuard, consentGuard, isQuietHour, momentGuard, reachabilityGuard, serviceWindowGuard, type NextActionReason } from "./guardrails.ts";

export interface NextActionInput {
  decisionId: string;
  customerKey: string;
  moment?: string;
  /** Action ids the moment's configuration lists as eligible in it (besides actions naming the moment). */
  momentActions?: readonly string[];
  /** When the trigger happened (start of the service-level window), epoch ms. */
  triggerAt: number;
  now: number;
  catalog: ActionCatalog;
  traits: ProfileTraits;
  account?: AccountTraits;
  /** The customer's sends and engagements per local hour of week. */
  counts: HourCounts;
  population: HourCounts;
  /** The customer is in a control group: decided (counterfactual), never sent. */
  holdout: boolean;
}

export interface NextActionDeps {
  /** The serving model, or undefined / a failing one (ranking by value then). */
  scorer?: () => Promise<Scorer>;
  reserve(input: ReserveInput): Promise<ReserveResult>;
  salt: string;
  /** ε of exploration among admitted actions. */
  epsilon: number;
}

export interface Timing {
  sendAt: number;
  hourOfWeek: number;
  method: "best" | "fallback" | "explored" | "immediate";
  propensity: number;
}

export interface NextActionResult {
  decisionId: string;
  action?: Action;
  timing?: Timing;
  timeZone: string;
  /** Probability of the chosen action among the admitted ones. */
  actionPropensity: number | null;
  /** Model propensity per candidate action and per channel (its best action's). */
  scores: Record<string, number>;
  channelPropensities: Record<string, number>;
  modelVersion: string | null;
  excluded: Array<{ actionId: string; reason: NextActionReason }>;
  reasons: string[];
  /** Action ids that reached the model, in order (the log's candidates). */
  candidates: string[];
}

/** An action seen by the ranking contract as a block: channel as category, campaign and attribute. */
export function actionBlock(a: Action): Block {
  return { id: a.id, slots: ["next-action"], category: a.channel, tags: [a.channel], campaign: a.channel, priority: 0, value: a.value, html: "", attributes: { ...a.attributes, channel: a.channel } };
}

/** Sending hour for one channel: optimised, or at once (postponed past quiet hours where they apply). */
function timeFor(channel: Action["channel"], input: NextActionInput, tz: string, rates: number[] | undefined, thin: boolean): Timing | "quiet_hours" {
  const p = input.catalog.policy;
  const deadline = input.triggerAt + p.serviceWindowHours * 3_600_000;
  const quiet = p.quietHours.channels.includes(channel);
  if (!p.sendTime.channels.includes(channel)) {
    if (!quiet || !isQuietHour(localTime(input.now, tz).hour, p.quietHours)) return { sendAt: input.now, hourOfWeek: localHourOfWeek(input.now, tz), method: "immediate", propensity: 1 };
    const next = hourSlots(input.now, deadline, tz).find((s) => !isQuietHour(s.hour, p.quietHours));
    return next ? { sendAt: next.at, hourOfWeek: next.hourOfWeek, method: "immediate", propensity: 1 } : "quiet_hours";
  }
  const slots = hourSlots(input.now, deadline, tz).filter((s) => !quiet || !isQuietHour(s.hour, p.quietHours));
  if (slots.length === 0) return "quiet_hours";
  const c = chooseSendTime({ slots, rates: rates!, thin, fallbackHour: p.sendTime.fallbackHour, epsilon: p.sendTime.epsilon, seed: `${input.decisionId}:${channel}`, salt: "nextbest-send-time-v1" });
  return { sendAt: c.slot.at, hourOfWeek: c.slot.hourOfWeek, method: c.method, propensity: c.propensity };
}

/** Decides the customer's next action. See the file comment for the order of steps. */
export async function decideNextAction(input: NextActionInput, deps: NextActionDeps): Promise<NextActionResult> {
  const { catalog } = input;
  const p = catalog.policy;
  const contact = input.traits.contact;
  const tz = contact?.timeZone ?? p.sendTime.defaultTimeZone;
  const excluded: NextActionResult["excluded"] = [];
  const reasons: string[] = [];
  const base = { decisionId: input.decisionId, timeZone: tz, actionPropensity: null, scores: {}, channelPropensities: {}, modelVersion: null, excluded, reasons, candidates: [] as string[] };

  const window = serviceWindowGuard(input.now, input.triggerAt, p.serviceWindowHours);
  if (window) {
    for (const a of catalog.actions) excluded.push({ actionId: a.id, reason: window });
    return { ...base, reasons: ["no_eligible_action"] };
  }
  const data = { profile: input.traits, account: input.account ?? {}, moment: input.moment ?? null };
  const eligible = catalog.actions.filter((a) => {
    const reason = momentGuard(a, input.moment, input.momentActions) ?? consentGuard(a.channel, contact) ?? reachabilityGuard(a.channel, contact) ?? conditionGuard(a, data);
    if (reason) excluded.push({ actionId: a.id, reason });
    return !reason;
  });

  // The channel: model propensity per action (p × value ranks), or value alone without a model.
  const scores: Record<string, number> = {};
  const ranks = new Map<string, number>();
  let modelVersion: string | null = null;
  if (eligible.length && deps.scorer) {
    try {
      // No page here: the model sees the actions as blocks and the customer's traits (declared
      // `profile.*` / `account.*` features), the same contract as a web decide of a known visitor.
      const traits = { profile: input.traits, account: input.account ?? {} };
      const { ranked, run } = await rankByModel(await deps.scorer(), {}, eligible.map(actionBlock), input.now, undefined, traits);
      modelVersion = run.version;
      for (const [id, r] of ranked) {
        scores[id] = r.score ?? 0;
        ranks.set(id, r.rank);
      }
    } catch {
      reasons.push("model_fallback");
    }
  }
  for (const a of eligible) if (!ranks.has(a.id)) ranks.set(a.id, a.value);
  const channelPropensities: Record<string, number> = {};
  for (const a of eligible) if (a.id in scores) channelPropensities[a.channel] = Math.max(channelPropensities[a.channel] ?? 0, scores[a.id]!);

  // The time, once per channel.
  const thin = input.counts.sends.reduce((x, y) => x + y, 0) < p.sendTime.minSends;
  const rates = smoothedRates(input.counts, populationRates(input.population, 0.05), p.sendTime.priorStrength);
  const timings = new Map<string, Timing | "quiet_hours">();
  const candidates: ContactCandidate[] = [];
  const timed: Array<{ action: Action; timing: Timing }> = [];
  for (const a of eligible) {
    if (!timings.has(a.channel)) timings.set(a.channel, timeFor(a.channel, input, tz, rates, thin));
    const t = timings.get(a.channel)!;
    if (t === "quiet_hours") {
      excluded.push({ actionId: a.id, reason: "quiet_hours" });
      continue;
    }
    timed.push({ action: a, timing: t });
    candidates.push({ actionId: a.id, channel: a.channel, sendAt: t.sendAt, hourOfWeek: t.hourOfWeek, rank: ranks.get(a.id)! });
  }

  // The contact policy over the one history, checked and recorded atomically.
  const result = { ...base, scores, channelPropensities, modelVersion, candidates: eligible.map((a) => a.id) };
  if (candidates.length === 0) return { ...result, reasons: [...reasons, "no_eligible_action"] };
  const reserved = await deps.reserve({ decisionId: input.decisionId, candidates, policy: p.contactPolicy, epsilon: deps.epsilon, salt: deps.salt, now: input.now, record: !input.holdout });
  excluded.push(...reserved.excluded);
  if (!reserved.chosen) return { ...result, reasons: [...reasons, "no_eligible_action"] };
  const pick = timed[reserved.chosen.index]!;
  if (input.holdout) reasons.push("holdout");
  if (reserved.chosen.explored) reasons.push("explored_action");
  if (pick.timing.method === "explored") reasons.push("explored_hour");
  if (pick.timing.method === "fallback") reasons.push("fallback_hour");
  return { ...result, action: pick.action, timing: pick.timing, actionPropensity: reserved.chosen.propensity, reasons: [...reasons, modelVersion ? "ranked" : "ranked_by_value"] };
}

export { isoWithOffset };
