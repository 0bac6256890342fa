/**
 * Retention of the visitor-level aggregates. They keep a visitor's pseudonymous key per day
 * (exposures, outcomes, moment exposures; outbound moments per customer), so without a horizon
 * they would hold visitor keys for longer than the log they come from (RETENTION_DAYS) and grow
 * with visitors × days until they outgrow the D1 database. The cron deletes their rows of whole UTC days before the cutoff's day.
 *
 * No report changes for a window that starts on or after that day: the lift and moment reports
 * read only exposure rows of the window's days and outcomes from those exposures on
 * (worker/reports/query.ts). Day-level tables (agg_daily, agg_kpi_daily, drift sums) hold counts
 * without visitor keys, are bounded by the catalog and are kept.
 *
 * How it deletes without an index on the day (one would cost every fold a write): each table is
 * walked in `visitor_key` (or `customer_key`) order — its primary key's or an index's first
 * column — a chunk of old rows at a time, resuming after the last key of the previous chunk, so
 * one pass reads each row once however many rows it deletes, and no statement holds the
 * database for long.
 */
import { DAY_MS } from "./sql.ts";

/** The visitor-level tables and how a row is older than the cutoff (?2: the cutoff day's 'YYYY-MM-DD' or its start in ms). */
const TABLES = [
  // first_time lies within the row's day: before the cutoff day's start ⇔ an earlier day. Walks
  // the (visitor_key, first_time) index, so the test needs no table lookup.
  { table: "agg_exposures", key: "visitor_key", old: "first_time < ?2", cutoff: "ms" },
  { table: "agg_visitor_days", key: "visitor_key", old: "day < ?2", cutoff: "day" },
  { table: "agg_since", key: "visitor_key", old: "since < ?2", cutoff: "ms" },
  { table: "agg_moment_exposures", key: "visitor_key", old: "day < ?2", cutoff: "day" },
  // Outbound moments (migrations/0019): per identified customer, walked by its customer_key index.
  { table: "agg_moment_outbound", key: "customer_key", old: "day < ?2", cutoff: "day" },
] as const;

export type VisitorAggregateTable = (typeof TABLES)[number]["table"];

/** Rows deleted per table, and whether a table was left unfinished (the next run goes on). */
export interface VisitorAggregatePrune {
  cutoffDay: string;
  deleted: Record<VisitorAggregateTable, number>;
  more: boolean;
}

/**
 * Deletes the visitor-level aggregate rows of UTC days before the day of `cutoffMs`.
 *
 * @param db the D1 database with the aggregate tables (migrations/0006, 0016, 0019)
 * @param cutoffMs rows of days before this instant's UTC day go (ms since the epoch)
 * @param chunk old rows a DELETE removes (about: a key's last rows may add a few)
 * @param maxChunks chunks per table per call, two statements each (plus one that finds nothing):
 *   with the defaults at most 105 D1 queries and 1,000,000 rows a call, well inside the 1,000
 *   queries a Worker invocation may make on Workers Paid
 *   (https://developers.cloudflare.com/d1/platform/limits/) beside the rest of the retention run;
 *   what is left is taken by the next day's call (`more`)
 */
export async function pruneVisitorAggregates(db: D1Database, cutoffMs: number, chunk = 20_000, maxChunks = 10): Promise<VisitorAggregatePrune> {
  const dayStart = Math.floor(cutoffMs / DAY_MS) * DAY_MS;
  const cutoffDay = new Date(dayStart).toISOString().slice(0, 10);
  const deleted = {} as Record<VisitorAggregateTable, number>;
  let more = false;
  for (const { table, key, old, cutoff } of TABLES) {
    const bound = cutoff === "ms" ? dayStart : cutoffDay;
    // The last key of the next `chunk` old rows after ?1 — from ?1 itself on the first chunk, so
    // an empty key is not skipped. A plain comparison (no OR) keeps it a range seek on the key.
    const statements = (from: ">=" | ">") => ({
      next: db.prepare(`SELECT MAX(${key}) AS last FROM (SELECT ${key} FROM ${table} WHERE ${key} ${from} ?1 AND ${old} ORDER BY ${key} LIMIT ?3)`),
      remove: db.prepare(`DELETE FROM ${table} WHERE ${key} ${from} ?1 AND ${key} <= ?3 AND ${old}`),
    });
    const first = statements(">=");
    const later = statements(">");
    let after = "";
    deleted[table] = 0;
    for (let i = 0; ; i++) {
      if (i === maxChunks) {
        more = true;
        break;
      }
      const { next, remove } = i === 0 ? first : later;
      const last = await next.bind(after, bound, chunk).first<string | null>("last");
      if (last === null) break;
      deleted[table] += (await remove.bind(after, bound, last).run()).meta.changes ?? 0;
      after = last;
    }
  }
  return { cutoffDay, deleted, more };
}
