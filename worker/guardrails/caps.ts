/**
 * Frequency caps over true sliding windows. Pure: the visitor's exposures and the clock come in,
 * counts go out. An exposure at time t is inside a window of length W at time `now` when
 * `now - W < t`: exactly W ms later it has left the window.
 */
import { z } from "zod";

export const WINDOW_MS = {
  hour: 3_600_000,
  day: 86_400_000,
  week: 604_800_000,
} as const;

export const capWindowSchema = z.enum(["session", "hour", "day", "week", "lifetime"]);
export type CapWindow = z.infer<typeof capWindowSchema>;

/**
 * Who a cap counts: the visitor (their customer's devices once identified; the default) or the
 * visitor's account — every customer and device of one company (worker/identity/account-caps.ts).
 */
export const capScopeSchema = z.enum(["visitor", "account"]);

/**
 * One cap: at most `limit` exposures per window, counted per visitor or (`scope: "account"`) per
 * account, e.g. `{ "limit": 2, "window": "week", "scope": "account" }`. An account has no session,
 * so an account cap's window is hour, day, week or lifetime.
 */
export const capSchema = z
  .object({
    limit: z.number().int().min(0).max(10_000),
    window: capWindowSchema,
    scope: capScopeSchema.optional(),
  })
  .refine((c) => c.scope !== "account" || c.window !== "session", { message: "an account cap needs a window of hour, day, week or lifetime (accounts have no session)", path: ["window"] });
export type Cap = z.infer<typeof capSchema>;

/** One served block, as the visitor's Durable Object remembers it. */
export interface Exposure {
  at: number;
  blockId: string;
  campaign: string;
  /** False for a slot's default (house) block: those do not count toward the global cap. */
  personalized: boolean;
  /** The decision that served it: an impression event for it is not counted twice. */
  decisionId?: string;
}

/** What caps are counted against. */
export interface CapState {
  /** Exposures of the last week (older ones are pruned), any order. */
  recent: Exposure[];
  /** Start of the visitor's current session. */
  sessionStart: number;
  /** All-time exposure counts: `block:<id>`, `campaign:<name>`, `global`. */
  lifetime: Record<string, number>;
}

/** Which exposures a cap counts. */
export type CapScope = { kind: "block"; blockId: string } | { kind: "campaign"; campaign: string } | { kind: "global" };

function matches(scope: CapScope, e: Exposure): boolean {
  if (scope.kind === "block") return e.blockId === scope.blockId;
  if (scope.kind === "campaign") return e.campaign === scope.campaign;
  return e.personalized;
}

/** Lifetime counter key of a scope. */
export function lifetimeKey(scope: CapScope): string {
  return scope.kind === "block" ? `block:${scope.blockId}` : scope.kind === "campaign" ? `campaign:${scope.campaign}` : "global";
}

/** Exposures in scope within the cap's window at `now`. */
export function countInWindow(state: CapState, scope: CapScope, window: CapWindow, now: number): number {
  if (window === "lifetime") return state.lifetime[lifetimeKey(scope)] ?? 0;
  const since = window === "session" ? state.sessionStart - 1 : now - WINDOW_MS[window];
  let n = 0;
  // No upper bound: concurrent requests reach the visitor's object out of order, so an exposure
  // recorded by a later-arriving request may carry a slightly later clock than this one.
  for (const e of state.recent) if (e.at > since && matches(scope, e)) n++;
  return n;
}

/** True when one more exposure would exceed the cap. */
export function capReached(state: CapState, scope: CapScope, cap: Cap, now: number): boolean {
  return countInWindow(state, scope, cap.window, now) >= cap.limit;
}

/** Adds a served block to the state (what the Durable Object then persists). */
export function addExposure(state: CapState, e: Exposure): void {
  state.recent.push(e);
  const keys = [lifetimeKey({ kind: "block", blockId: e.blockId }), lifetimeKey({ kind: "campaign", campaign: e.campaign })];
  if (e.personalized) keys.push("global");
  for (const k of keys) state.lifetime[k] = (state.lifetime[k] ?? 0) + 1;
}
