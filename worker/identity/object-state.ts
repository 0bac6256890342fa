/**
 * What a Durable Object of the VisitorState class keeps about identity, in its own SQLite:
 * - a visitor's object: `customer`, the customer object it is linked to (its decides, sessions,
 *   conversions and caps are then the customer's: it forwards);
 * - a customer's object: the visitor keys merged into it (`merged_visitors`: each merged once,
 *   and the list erasure follows), `traits`, `account` (the account object's name);
 * - an account's object: `account_traits`, and the account-level exposures (account caps).
 * Synchronous SQLite calls only, so each method of the object stays atomic.
 */
import type { AccountTraits, ProfileTraits } from "./schema.ts";

export function createIdentityTables(sql: SqlStorage): void {
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
  const merged = { ...(JSON.parse(readIdentity(sql, key) ?? "{}") as T), ...traits };
  writeIdentity(sql, key, JSON.stringify(merged));
  return merged;
}
