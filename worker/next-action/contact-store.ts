/**
 * The outbound side of the customer's Durable Object (worker/visitor/visitor-state.ts calls
 * these with its SQLite): outbound contacts, sends and engagements per local hour of week. Web
 * exposures already live in the same object, so the contact policy reads ONE history, and
 * `reserveContact` checks and records in one synchronous run (no await): concurrent next-action
 * calls for a customer are serialised by the object and can never admit a message over a cap.
 */
import type { Channel } from "../actions/channels.ts";
import type { ContactPolicy } from "../actions/schema.ts";
import type { Exposure } from "../guardrails/caps.ts";
import { unitHash } from "../holdout/hash.ts";
import { emptyCounts, type HourCounts } from "../send-time/shrinkage.ts";
import { contactPolicyGuard, type Contact, type NextActionReason } from "./guardrails.ts";

/** A candidate the decision core has timed: its channel, send instant and rank. */
export interface ContactCandidate {
  actionId: string;
  channel: Channel;
  /** Epoch ms. */
  sendAt: number;
  /** Local hour of week of `sendAt`. */
  hourOfWeek: number;
  /** propensity × value (higher first). */
  rank: number;
}

export interface ReserveInput {
  decisionId: string;
  candidates: ContactCandidate[];
  policy: ContactPolicy;
  /** ε of the seeded exploration among the actions the policy admits. */
  epsilon: number;
  salt: string;
  now: number;
  /** False for a held-out customer: the choice is computed (counterfactual), nothing recorded. */
  record: boolean;
}

export interface ReserveResult {
  chosen?: { index: number; propensity: number; explored: boolean };
  excluded: Array<{ actionId: string; reason: NextActionReason }>;
}

const WEEK_MS = 7 * 86_400_000;

export function ensureOutboundTables(sql: SqlStorage): void {
  sql.exec(`
    CREATE TABLE IF NOT EXISTS outbound_contacts (decision_id TEXT PRIMARY KEY, at INTEGER NOT NULL, send_at INTEGER NOT NULL, channel TEXT NOT NULL, action_id TEXT NOT NULL, hour_of_week INTEGER NOT NULL, engaged INTEGER NOT NULL DEFAULT 0);
    CREATE INDEX IF NOT EXISTS outbound_contacts_send_at ON outbound_contacts (send_at);
    CREATE TABLE IF NOT EXISTS send_hours (hour_of_week INTEGER PRIMARY KEY, sends INTEGER NOT NULL DEFAULT 0, engaged INTEGER NOT NULL DEFAULT 0);
  `);
}

/** The customer's one history: outbound contacts within a week of `now`, plus counted web exposures. */
export function contactHistory(sql: SqlStorage, web: readonly Exposure[], policy: ContactPolicy, now: number): Contact[] {
  const out: Contact[] = sql
    .exec<{ send_at: number; channel: Channel }>("SELECT send_at, channel FROM outbound_contacts WHERE send_at > ?", now - 2 * WEEK_MS)
    .toArray()
    .map((r) => ({ at: r.send_at, channel: r.channel }));
  if (policy.countWebExposures) for (const e of web) if (e.personalized) out.push({ at: e.at, channel: "web" });
  return out;
}

/** Sends and engagements per local hour of week. */
export function hourCounts(sql: SqlStorage): HourCounts {
  const c = emptyCounts();
  for (const r of sql.exec<{ hour_of_week: number; sends: number; engaged: number }>("SELECT hour_of_week, sends, engaged FROM send_hours")) {
    c.sends[r.hour_of_week] = r.sends;
    // An engagement without a known send (no decision id) can leave more engagements than sends.
    c.engaged[r.hour_of_week] = Math.min(r.engaged, r.sends);
  }
  return c;
}

/**
 * Pure: the policy's verdict on every candidate, and the pick among the admitted ones — the best
 * rank, or with probability ε one drawn uniformly (seeded by the decision id). Propensity is the
 * probability of the pick among the admitted candidates.
 */
export function pickAdmitted(input: Omit<ReserveInput, "record">, history: readonly Contact[]): ReserveResult {
  const excluded: ReserveResult["excluded"] = [];
  const admitted: number[] = [];
  input.candidates.forEach((c, i) => {
    const reason = contactPolicyGuard(history, c.channel, c.sendAt, input.policy);
    if (reason) excluded.push({ actionId: c.actionId, reason });
    else admitted.push(i);
  });
  if (admitted.length === 0) return { excluded };
  let best = admitted[0]!;
  for (const i of admitted) if (input.candidates[i]!.rank > input.candidates[best]!.rank) best = i;
  const eps = admitted.length > 1 ? input.epsilon : 0;
  const explore = eps > 0 && unitHash(input.salt, `${input.decisionId}:action:explore`) < eps;
  const index = explore ? admitted[Math.min(admitted.length - 1, Math.floor(unitHash(input.salt, `${input.decisionId}:action:pick`) * admitted.length))]! : best;
  const propensity = (index === best ? 1 - eps : 0) + eps / admitted.length;
  return { chosen: { index, propensity, explored: index !== best }, excluded };
}

/** Checks the policy and records the chosen contact, in one synchronous run (see the file comment). */
export function reserveContact(sql: SqlStorage, web: readonly Exposure[], input: ReserveInput): ReserveResult {
  ensureOutboundTables(sql);
  const result = pickAdmitted(input, contactHistory(sql, web, input.policy, input.now));
  if (!input.record || !result.chosen) return result;
  const c = input.candidates[result.chosen.index]!;
  sql.exec("INSERT INTO outbound_contacts (decision_id, at, send_at, channel, action_id, hour_of_week) VALUES (?, ?, ?, ?, ?, ?)", input.decisionId, input.now, c.sendAt, c.channel, c.actionId, c.hourOfWeek);
  sql.exec("INSERT INTO send_hours (hour_of_week, sends) VALUES (?, 1) ON CONFLICT (hour_of_week) DO UPDATE SET sends = sends + 1", c.hourOfWeek);
  // Contacts older than two weeks are no longer needed by any cap (hour counters stay).
  sql.exec("DELETE FROM outbound_contacts WHERE send_at <= ? AND engaged = 1", input.now - 2 * WEEK_MS);
  return result;
}

/** Forgets a reserved contact that could not be scheduled (it was never sent). Returns whether one was removed. */
export function releaseContactIn(sql: SqlStorage, decisionId: string): boolean {
  ensureOutboundTables(sql);
  const row = sql.exec<{ hour_of_week: number }>("DELETE FROM outbound_contacts WHERE decision_id = ? RETURNING hour_of_week", decisionId).toArray()[0];
  if (!row) return false;
  sql.exec("UPDATE send_hours SET sends = MAX(sends - 1, 0) WHERE hour_of_week = ?", row.hour_of_week);
  return true;
}

/**
 * Counts one engagement (opened or clicked) at a local hour of week: the hour the message was
 * sent when `decisionId` names one of this customer's contacts (counted once per message, however
 * many opens and clicks), else `fallbackHourOfWeek` (the event's own local hour). Returns the hour
 * counted, or null when this message was already counted.
 */
export function recordEngagementIn(sql: SqlStorage, decisionId: string | undefined, fallbackHourOfWeek: number): number | null {
  ensureOutboundTables(sql);
  let hour = fallbackHourOfWeek;
  if (decisionId) {
    const row = sql.exec<{ hour_of_week: number; engaged: number }>("SELECT hour_of_week, engaged FROM outbound_contacts WHERE decision_id = ?", decisionId).toArray()[0];
    if (row) {
      if (row.engaged) return null;
      sql.exec("UPDATE outbound_contacts SET engaged = 1 WHERE decision_id = ?", decisionId);
      hour = row.hour_of_week;
    }
  }
  sql.exec("INSERT INTO send_hours (hour_of_week, engaged) VALUES (?, 1) ON CONFLICT (hour_of_week) DO UPDATE SET engaged = engaged + 1", hour);
  return hour;
}
