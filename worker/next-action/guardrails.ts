/**
 * Next-action guardrails: pure functions, each answering a reason code when an action may not be
 * sent, or undefined. Applied before any model runs; their codes are the answer's `excluded`.
 */
import type { Channel } from "../actions/channels.ts";
import type { Action, ContactPolicy } from "../actions/schema.ts";
import { runCondition } from "../guardrails/condition.ts";
import type { ContactTraits } from "./contact-traits.ts";

export const NEXT_ACTION_REASONS = [
  "no_marketing_consent", "not_opted_in", "unreachable", "condition_false", "condition_over_budget", "not_in_moment",
  "outside_service_window", "quiet_hours", "weekly_cap", "channel_daily_cap",
] as const;
export type NextActionReason = (typeof NEXT_ACTION_REASONS)[number];

/** Channels that need an explicit opt-in (absent = no); on the others only an explicit `false` excludes. */
export const OPT_IN_CHANNELS: ReadonlySet<Channel> = new Set(["email", "push", "sms"]);
/** Channels that need an address the profile says it has (`reachable.<channel>: true`). */
export const ADDRESSED_CHANNELS: ReadonlySet<Channel> = new Set(["email", "push", "sms", "in_app", "ads_audience"]);

/** Consent per channel: the `marketing` purpose for every channel, then the channel's opt-in. */
export function consentGuard(channel: Channel, contact: ContactTraits | undefined): NextActionReason | undefined {
  if (contact?.marketing !== true) return "no_marketing_consent";
  const optIn = contact.optIns?.[channel];
  if (OPT_IN_CHANNELS.has(channel) ? optIn !== true : optIn === false) return "not_opted_in";
  return undefined;
}

/** Reachability: the profile has an e-mail / push token / phone / ad id for the channel. */
export function reachabilityGuard(channel: Channel, contact: ContactTraits | undefined): NextActionReason | undefined {
  return ADDRESSED_CHANNELS.has(channel) && contact?.reachable?.[channel] !== true ? "unreachable" : undefined;
}

/**
 * Moments: with a moment, only actions eligible in it — the action lists the moment, or the
 * moment's configuration lists the action (`momentActions`, worker/moments/schema.ts `actions`);
 * without a moment, only actions listing none.
 */
export function momentGuard(action: Pick<Action, "id" | "moments">, moment: string | undefined, momentActions: readonly string[] = []): NextActionReason | undefined {
  if (moment === undefined) return action.moments ? "not_in_moment" : undefined;
  return action.moments?.includes(moment) || momentActions.includes(action.id) ? undefined : "not_in_moment";
}

/** The action's JSON Logic condition over `{ profile, account, moment }` (bounded evaluation). */
export function conditionGuard(action: Pick<Action, "condition">, data: Record<string, unknown>): NextActionReason | undefined {
  if (action.condition === undefined) return undefined;
  const r = runCondition(action.condition, data);
  return r === true ? undefined : r === "over_budget" ? "condition_over_budget" : "condition_false";
}

/** The service-level window: nothing may be sent after `triggerAt + windowHours`. */
export function serviceWindowGuard(now: number, triggerAt: number, windowHours: number): NextActionReason | undefined {
  return now > triggerAt + windowHours * 3_600_000 ? "outside_service_window" : undefined;
}

/** Local hour `hour` is quiet when inside [start, end), wrapping midnight when start > end; start = end: none. */
export function isQuietHour(hour: number, quiet: { start: number; end: number }): boolean {
  if (quiet.start === quiet.end) return false;
  return quiet.start < quiet.end ? hour >= quiet.start && hour < quiet.end : hour >= quiet.start || hour < quiet.end;
}

/** A message in the customer's one history (outbound contacts and counted web exposures). */
export interface Contact {
  /** When it is (or was) sent, epoch ms. */
  at: number;
  channel: Channel;
}

const DAY_MS = 86_400_000;
const WEEK_MS = 7 * DAY_MS;

/**
 * Cross-channel contact policy for a message on `channel` at `at`: at most `weekly` messages
 * within 7 days of each other across channels, at most `perChannelDaily` on one channel within
 * 24 h of each other. Counting every message within the window *on either side* (scheduled sends
 * are in the future) guarantees every sliding window holds at most the cap: k messages in one
 * window are all within its length of each other, so each saw k − 1 others when it was admitted.
 */
export function contactPolicyGuard(history: readonly Contact[], channel: Channel, at: number, policy: ContactPolicy): NextActionReason | undefined {
  let week = 0;
  let day = 0;
  for (const c of history) {
    const gap = Math.abs(c.at - at);
    if (gap < WEEK_MS) week++;
    if (c.channel === channel && gap < DAY_MS) day++;
  }
  if (week >= policy.weekly) return "weekly_cap";
  if (day >= policy.perChannelDaily) return "channel_daily_cap";
  return undefined;
}
