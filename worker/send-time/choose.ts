/**
 * Choosing the send hour: the best smoothed hour inside the window and outside quiet hours, a
 * configured fallback hour when the customer's data is thin, and seeded ε-exploration of the
 * other allowed hours (so send-time lift can be measured against the fallback from the
 * exploration arm). Pure and deterministic: the same decision id picks the same hour.
 */
import { unitHash } from "../holdout/hash.ts";
import type { HourSlot } from "./tz.ts";

export interface SendTimeChoiceInput {
  /** Allowed send instants (local hour starts), in time order; at least one. */
  slots: HourSlot[];
  /** Smoothed engagement rate per hour of week (168), from shrinkage.ts. */
  rates: number[];
  /** True when the customer has fewer sends than the configured minimum: use the fallback hour. */
  thin: boolean;
  /** Local hour of day (0..23) used when data is thin. */
  fallbackHour: number;
  /** Share of decisions that explore a uniformly drawn allowed hour, 0..1. */
  epsilon: number;
  /** Seed of the draw (the decision id) and the salt of the hashing. */
  seed: string;
  salt: string;
}

export interface SendTimeChoice {
  slot: HourSlot;
  /** `best` (highest smoothed rate), `fallback` (thin data) or `explored`. */
  method: "best" | "fallback" | "explored";
  /** Probability that this policy picks this slot among `slots` (for off-policy evaluation). */
  propensity: number;
  /** The slot the policy would have taken without exploring. */
  greedy: HourSlot;
  /** Smoothed rate of the chosen slot's hour of week. */
  rate: number;
}

/** The slot at the fallback hour, else the first one after it (wrapping to the first slot). */
function fallbackSlot(slots: HourSlot[], hour: number): HourSlot {
  return slots.find((s) => s.hour === hour) ?? slots.find((s) => s.hour > hour) ?? slots[0]!;
}

/** The slot with the highest rate; ties go to the earliest. */
function bestSlot(slots: HourSlot[], rates: number[]): HourSlot {
  let best = slots[0]!;
  for (const s of slots) if (rates[s.hourOfWeek]! > rates[best.hourOfWeek]!) best = s;
  return best;
}

/** Chooses the send slot. Throws when `slots` is empty (the caller excludes that case first). */
export function chooseSendTime(input: SendTimeChoiceInput): SendTimeChoice {
  const { slots, rates } = input;
  if (slots.length === 0) throw new Error("no allowed send hour");
  const greedy = input.thin ? fallbackSlot(slots, input.fallbackHour) : bestSlot(slots, rates);
  const eps = slots.length > 1 ? input.epsilon : 0;
  const explore = eps > 0 && unitHash(input.salt, `${input.seed}:send-time:explore`) < eps;
  const slot = explore ? slots[Math.min(slots.length - 1, Math.floor(unitHash(input.salt, `${input.seed}:send-time:hour`) * slots.length))]! : greedy;
  const propensity = (slot === greedy ? 1 - eps : 0) + eps / slots.length;
  const method = slot !== greedy ? "explored" : input.thin ? "fallback" : "best";
  return { slot, method, propensity, greedy, rate: rates[slot.hourOfWeek]! };
}
