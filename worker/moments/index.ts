/**
 * What other features use of moments (issue 18): the memberships of a visitor or customer, the
 * exit hook, and the events path's update.
 *
 * - `momentsOf(env, who, config)`: the moments `who` is in now — `{ id, enteredAt (ms), kpi: {
 *   event, windowSeconds } }[]` — read from their Durable Object (one call; nothing stored).
 *   `who` is `{ visitorId }`, `{ customerId }` (keyed with IDENTITY_SECRET, worker/identity/keys.ts)
 *   or `{ objectName }` (a visitor key or `customer:<key>`, as the exit hook gives it).
 * - `onMomentExit(listener)` (./exits.ts): `(env, key, momentId, at)` after each exit;
 *   `onMomentEntry(listener)`: `(env, key, moment, at)` after each entry.
 * - `momentEventsFrom(stored)` / `applyMomentEvents`: used by `POST /v1/events`.
 */
import { customerKey, customerObject, type IdentityEnv } from "../identity/keys.ts";
import type { AcceptedEvent } from "../events/ingest.ts";
import { visitorKey } from "../visitor/key.ts";
import type { VisitorState } from "../visitor/visitor-state.ts";
import { neededEvents, type MomentMembership, type RecentEvent } from "./evaluate.ts";
import type { MomentsConfig } from "./schema.ts";

export { onMomentEntry, onMomentExit, type MomentEntryListener, type MomentExitListener } from "./exits.ts";
export type { MomentMembership } from "./evaluate.ts";

type MomentsEnv = IdentityEnv & { VISITOR: DurableObjectNamespace<VisitorState> };
export type MomentsSubject = { visitorId: string } | { customerId: string } | { objectName: string };

async function objectName(env: MomentsEnv, who: MomentsSubject): Promise<string> {
  if ("objectName" in who) return who.objectName;
  if ("customerId" in who) return customerObject(await customerKey(env, who.customerId));
  return visitorKey(who.visitorId);
}

/** The current memberships of a visitor or customer (see the file comment). */
export async function momentsOf(env: MomentsEnv, who: MomentsSubject, config: MomentsConfig): Promise<MomentMembership[]> {
  if (config.moments.length === 0) return [];
  const ns = env.VISITOR;
  return ns.get(ns.idFromName(await objectName(env, who))).momentMemberships(config);
}

/** The stored events a moment needs, by visitor, with personalisation consent only (nothing else is kept). */
export function momentEventsFrom(stored: readonly AcceptedEvent[], config: MomentsConfig, now: number): Map<string, RecentEvent[]> {
  const out = new Map<string, RecentEvent[]>();
  if (config.moments.length === 0) return out;
  const needed = neededEvents(config);
  for (const { event, id, personalization } of stored) {
    if (!personalization) continue;
    const name = event.type === "custom" ? event.name! : event.type;
    if (!needed.has(name)) continue;
    const list = out.get(event.visitorId) ?? [];
    list.push({ id, at: now, event: name, ...(event.category ? { category: event.category } : {}), ...(event.slot ? { slot: event.slot } : {}), ...(event.blockId ? { blockId: event.blockId } : {}) });
    out.set(event.visitorId, list);
  }
  return out;
}

/** Applies the events to each visitor's moments (one call per visitor); returns how many moments were entered and exited. */
export async function applyMomentEvents(env: Pick<MomentsEnv, "VISITOR">, byVisitor: Map<string, RecentEvent[]>, config: MomentsConfig, now: number): Promise<{ entered: number; exited: number }> {
  let entered = 0;
  let exited = 0;
  for (const [visitorId, events] of byVisitor) {
    const key = await visitorKey(visitorId);
    const r = await env.VISITOR.get(env.VISITOR.idFromName(key)).momentEvents(events, { config, key }, now);
    entered += r.entered.length;
    exited += r.exited.length;
  }
  return { entered, exited };
}
