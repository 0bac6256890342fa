/**
 * What a Durable Object of the VisitorState class keeps about identity, in its own SQLite:
 * - a visitor's object: `customer`, the customer object it is linked to (its decides, sessions,
 *   conversions and caps are then the customer's: it forwards);
 * - a customer's object: the visitor keys merged into it (`merged_visitors`: each merged once,
 *   and the list erasure follows), `traits`, `account` (the account object's name);
 * - an account's object: `account_traits`, and the account-level exposures (account caps).
 * Synchronous SQLite calls only, so each method of the object stays atomic.
 */
import { mergeContact } from "../next-action/contact-traits.ts";
import type { VisitorHistory } from "../decide/select.ts";
import type { Exposure } from "../guardrails/caps.ts";
import type { AccountTraits, ProfileTraits } from "./schema.ts";
import { hasTables, insertRows } from "../visitor/sql-rows.ts";

/** A visitor's history as merged into its customer's object (identify). */
export interface HistorySnapshot {
  recent: Exposure[];
  lifetime: Record<string, number>;
  converted: string[];
}

/**
 * Adds a visitor's history to the customer's (`h`, the object's in-memory copy, and its tables):
 * exposures not already there (by decision id), lifetime counters added, conversions united.
 */
export function absorbHistory(sql: SqlStorage, h: VisitorHistory, snapshot: HistorySnapshot, now: number): void {
  const known = new Set(h.recent.map((e) => e.decisionId).filter(Boolean));
  const fresh = snapshot.recent.filter((e) => !e.decisionId || !known.has(e.decisionId));
  if (fresh.length) {
    h.recent.push(...fresh);
    // A week of a visitor's exposures: more rows than one statement's 100 parameters hold.
    insertRows(sql, "INSERT INTO exposures (at, block_id, campaign, personalized, decision_id)", fresh.map((e) => [e.at, e.blockId, e.campaign, e.personalized ? 1 : 0, e.decisionId ?? null]));
  }
  for (const [key, count] of Object.entries(snapshot.lifetime)) {
    h.lifetime[key] = (h.lifetime[key] ?? 0) + count;
    sql.exec("INSERT INTO lifetime (key, count) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET count = count + excluded.count", key, count);
  }
  for (const campaign of snapshot.converted) {
    if (!h.converted.includes(campaign)) h.converted.push(campaign);
    sql.exec("INSERT INTO converted (campaign, at) VALUES (?, ?) ON CONFLICT (campaign) DO NOTHING", campaign, now);
  }
}

export function createIdentityTables(sql: SqlStorage): void {
  // Runs on every object's first call after it is rebuilt: a read when the tables exist.
  if (hasTables(sql, ["identity", "merged_visitors"])) return;
  sql.exec(`
    CREATE TABLE IF NOT EXISTS identity (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS merged_visitors (visitor_key TEXT PRIMARY KEY, at INTEGER NOT NULL);
  `);
}

export function readIdentity(sql: SqlStorage, key: "customer" | "traits" | "account" | "account_traits" | "withdrawn"): string | undefined {
  return sql.exec<{ value: string }>("SELECT value FROM identity WHERE key = ?", key).toArray()[0]?.value;
}

export function writeIdentity(sql: SqlStorage, key: "customer" | "traits" | "account" | "account_traits" | "withdrawn", value: string | undefined): void {
  if (value === undefined) sql.exec("DELETE FROM identity WHERE key = ?", key);
  else sql.exec("INSERT INTO identity (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", key, value);
}

/** Records that a visitor's history was merged; false if it already was (merge once). */
export function markMerged(sql: SqlStorage, visitorKey: string, at: number): boolean {
  return sql.exec("INSERT INTO merged_visitors (visitor_key, at) VALUES (?, ?) ON CONFLICT (visitor_key) DO NOTHING", visitorKey, at).rowsWritten > 0;
}

export function mergedVisitors(sql: SqlStorage): string[] {
  return sql.exec<{ visitor_key: string }>("SELECT visitor_key FROM merged_visitors ORDER BY visitor_key").toArray().map((r) => r.visitor_key);
}

/** Merges traits over the stored ones (a field sent replaces the stored one; others stay). */
export function mergeTraits<T extends ProfileTraits | AccountTraits>(sql: SqlStorage, key: "traits" | "account_traits", traits: T): T {
  const stored = JSON.parse(readIdentity(sql, key) ?? "{}") as T;
  const merged = { ...stored, ...traits };
  // The `contact` trait merges member by member (worker/next-action/contact-traits.ts).
  if ("contact" in traits) Object.assign(merged, { contact: mergeContact((stored as ProfileTraits).contact, (traits as ProfileTraits).contact) });
  writeIdentity(sql, key, JSON.stringify(merged));
  return merged;
}

/** What an erasure removes of identity (before the object's storage is deleted): the profile and the links. */
export function identityRecords(sql: SqlStorage): { profile: number; links: number } {
  return {
    profile: readIdentity(sql, "traits") === undefined ? 0 : 1,
    links: sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM merged_visitors").one().n,
  };
}
