/**
 * Moment membership as plain functions (no bindings): what the visitor's Durable Object runs on
 * each event and each decide (./object-state.ts), and what unit tests drive with their own clock.
 *
 * Per moment, in one step at time `now`:
 *  1. a member leaves when the exit event is the one observed, the exit condition holds, or it has
 *     been a member for `exit.afterSeconds`;
 *  2. a non-member (not one that just left) enters when the trigger event is the one observed or
 *     the trigger condition holds, if re-entry allows it: fewer than `reentry.maxEntries`
 *     entries so far and at least `reentry.cooldownSeconds` since the last exit.
 */
import { runCondition } from "../guardrails/condition.ts";
import type { AccountTraits, ProfileTraits } from "../identity/schema.ts";
import type { EventWindow, Moment, MomentsConfig } from "./schema.ts";

/** An event kept for the trigger windows: its type (custom events: their name) and keys. */
export interface RecentEvent {
  /** The event's stored id (worker/events/ingest.ts `eventId`): a resent event has the same one. */
  id?: string;
  /** ms. */
  at: number;
  /** `conversion`, `click`, `impression`, or a custom event's name. */
  event: string;
  category?: string;
  slot?: string;
  blockId?: string;
}

/** One visitor's (or customer's) state for one moment. */
export interface MomentState {
  id: string;
  /** ms; null when not a member now. */
  enteredAt: number | null;
  /** Entries so far (re-entry limit). */
  entries: number;
  /** ms of the last exit, or null. */
  lastExit: number | null;
}

/** A current membership, as decisions and other channels see it. */
export interface MomentMembership {
  id: string;
  /** ms. */
  enteredAt: number;
  kpi: { event: string; windowSeconds: number };
}

/** What is known at the step: the event just observed (already in `recent`) and the context. */
export interface Observation {
  now: number;
  event?: RecentEvent;
  signals?: Record<string, unknown>;
  profile?: ProfileTraits;
  account?: AccountTraits;
  visitCount?: number;
}

/** What a step changed. */
export interface StepResult {
  entered: string[];
  exited: string[];
}

/** Figures of one window at `now`: events in it, most in one key, seconds since the latest. */
export function windowFigures(w: EventWindow, recent: readonly RecentEvent[], now: number): { count: number; maxPerKey: number; ago: number | null } {
  const from = now - w.within * 1000;
  let count = 0;
  let latest = -Infinity;
  const perKey = new Map<string, number>();
  for (const e of recent) {
    if (e.event !== w.event || e.at <= from || e.at > now) continue;
    count++;
    latest = Math.max(latest, e.at);
    if (w.by) {
      const key = e[w.by];
      if (key !== undefined) perKey.set(key, (perKey.get(key) ?? 0) + 1);
    }
  }
  const maxPerKey = w.by ? Math.max(0, ...perKey.values()) : count;
  return { count, maxPerKey, ago: count ? Math.floor((now - latest) / 1000) : null };
}

/** The data a trigger or exit condition reads (see ./schema.ts for the variables). */
export function conditionData(m: Moment, recent: readonly RecentEvent[], o: Observation): Record<string, unknown> {
  const events: Record<string, unknown> = {};
  for (const [name, w] of Object.entries({ ...(m.trigger.windows ?? {}), ...(m.exit.windows ?? {}) })) events[name] = windowFigures(w, recent, o.now);
  return { profile: o.profile ?? {}, account: o.account ?? {}, signals: o.signals ?? {}, visit: { count: o.visitCount ?? 0 }, now: o.now, events };
}

function fires(rule: { event?: string; condition?: unknown }, m: Moment, recent: readonly RecentEvent[], o: Observation): boolean {
  if (rule.event !== undefined && o.event?.event === rule.event) return true;
  if (rule.condition === undefined) return false;
  return runCondition(rule.condition as Parameters<typeof runCondition>[0], conditionData(m, recent, o)) === true;
}

/**
 * Advances every configured moment by one observation; `states` (by moment id) is updated in
 * place (new moments get a state). Returns the moments entered and exited.
 */
export function step(config: MomentsConfig, states: Map<string, MomentState>, recent: readonly RecentEvent[], o: Observation): StepResult {
  const out: StepResult = { entered: [], exited: [] };
  for (const m of config.moments) {
    let s = states.get(m.id);
    if (s?.enteredAt != null) {
      const timedOut = m.exit.afterSeconds !== undefined && o.now - s.enteredAt >= m.exit.afterSeconds * 1000;
      if (timedOut || fires(m.exit, m, recent, o)) {
        s.enteredAt = null;
        s.lastExit = o.now;
        out.exited.push(m.id);
      }
      continue;
    }
    if (s && s.entries >= m.reentry.maxEntries) continue;
    if (s?.lastExit != null && o.now - s.lastExit < m.reentry.cooldownSeconds * 1000) continue;
    if (!fires(m.trigger, m, recent, o)) continue;
    s ??= { id: m.id, enteredAt: null, entries: 0, lastExit: null };
    s.enteredAt = o.now;
    s.entries++;
    states.set(m.id, s);
    out.entered.push(m.id);
  }
  return out;
}

/** The current memberships among the configured moments (a moment removed from the configuration no longer counts). */
export function memberships(config: MomentsConfig, states: ReadonlyMap<string, MomentState>): MomentMembership[] {
  return config.moments.flatMap((m) => {
    const s = states.get(m.id);
    return s?.enteredAt != null ? [{ id: m.id, enteredAt: s.enteredAt, kpi: { event: m.kpi.event, windowSeconds: m.kpi.windowSeconds } }] : [];
  });
}

/** Event names any moment's trigger, exit or windows need kept (others are not stored). */
export function neededEvents(config: MomentsConfig): Set<string> {
  const out = new Set<string>();
  for (const m of config.moments) {
    for (const rule of [m.trigger, m.exit]) {
      if (rule.event) out.add(rule.event);
      for (const w of Object.values(rule.windows ?? {})) out.add(w.event);
    }
  }
  return out;
}

/** Longest window (ms) any moment reads: older recent events are dropped. */
export function longestWindowMs(config: MomentsConfig): number {
  let max = 0;
  for (const m of config.moments) for (const rule of [m.trigger, m.exit]) for (const w of Object.values(rule.windows ?? {})) max = Math.max(max, w.within * 1000);
  return max;
}

/** Whether any moment reads the account's traits (an extra hop to the account's object). */
export function momentsRead(config: MomentsConfig, prefix: "account" | "profile"): boolean {
  return config.moments.some((m) => [m.trigger.condition, m.exit.condition].some((c) => c !== undefined && JSON.stringify(c).includes(`"${prefix}`)));
}

export type { Moment };
