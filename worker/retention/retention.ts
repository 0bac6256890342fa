/**
 * Retention, run by the cron trigger. Two horizons:
 * - `D1_WINDOW_DAYS` (default 7): D1 keeps only the recent window of raw rows that the admin
 *   queries need (`GET /admin/decisions`). A row leaves D1 only once the lake file it was claimed
 *   for is written (`lake_files.written_at`) and it has been folded into the aggregates
 *   (`agg_applied`); the cron flushes the lake and folds what is pending first.
 * - `RETENTION_DAYS` (default 90): how long the log exists at all; whole lake partitions older
 *   than that are deleted from R2 (worker/lake/prune.ts). The D1 window never exceeds it.
 * - `AGG_VISITOR_DAYS` (default: RETENTION_DAYS, never above it): days of the visitor-level
 *   aggregates (worker/aggregates/prune.ts) — how far back visitor-level lift can look.
 * Deletes run in bounded chunks so no single statement holds the database for long and one run
 * stays within a Worker's limits however much has piled up.
 */
import { pruneUsedTokens } from "../identity/replay.ts";
import { pruneVisitorAggregates, type VisitorAggregatePrune } from "../aggregates/prune.ts";
import { foldPending } from "../aggregates/statements.ts";
import { runLakeErasures, type LakeErasureResult } from "../lake/erase.ts";
import { flushLake, type FlushResult } from "../lake/flush.ts";
import { pruneLake, type LakePruneResult } from "../lake/prune.ts";

/** Days kept when RETENTION_DAYS is unset or invalid. */
export const DEFAULT_RETENTION_DAYS = 90;
const DAY_MS = 86_400_000;

/** A setting's positive, finite number of days, or undefined (unset, empty, zero, negative, not a number). */
function positiveDays(value: string | undefined): number | undefined {
  const n = Number(value);
  return value !== undefined && value.trim() !== "" && Number.isFinite(n) && n > 0 ? n : undefined;
}

/** Reads RETENTION_DAYS: a positive number of days, else the default. */
export function retentionDays(value: string | undefined): number {
  return positiveDays(value) ?? DEFAULT_RETENTION_DAYS;
}

/** Days of raw rows D1 keeps when D1_WINDOW_DAYS is unset or invalid. */
export const DEFAULT_D1_WINDOW_DAYS = 7;

/** The D1 window in days: D1_WINDOW_DAYS (positive), else the default, never above the retention. */
export function d1WindowDays(value: string | undefined, retention: number): number {
  return Math.min(positiveDays(value) ?? DEFAULT_D1_WINDOW_DAYS, retention);
}

/** Days of visitor-level aggregates: AGG_VISITOR_DAYS (positive), else the retention, never above it. */
export function visitorAggregateDays(value: string | undefined, retention: number): number {
  return Math.min(positiveDays(value) ?? retention, retention);
}

/**
 * The first UTC day ('YYYY-MM-DD') whose visitor-level aggregates the daily cron keeps: reports of
 * windows starting earlier miss the visitors first exposed before it (worker/aggregates/prune.ts).
 */
export function visitorAggregatesFrom(env: { RETENTION_DAYS?: string; AGG_VISITOR_DAYS?: string }, now: number): string {
  const cutoff = retentionCutoff(now, visitorAggregateDays(env.AGG_VISITOR_DAYS, retentionDays(env.RETENTION_DAYS)));
  return new Date(cutoff - (cutoff % DAY_MS)).toISOString().slice(0, 10);
}

/**
 * The `before_visitor_retention` warning of a report whose window starts on `fromDay`
 * ('YYYY-MM-DD') before visitorAggregatesFrom, else undefined; `who` names what is not counted.
 */
export function visitorRetentionWarning(
  env: { RETENTION_DAYS?: string; AGG_VISITOR_DAYS?: string },
  now: number,
  fromDay: string,
  who: string,
): { code: "before_visitor_retention"; message: string } | undefined {
  const kept = visitorAggregatesFrom(env, now);
  if (fromDay >= kept) return undefined;
  return { code: "before_visitor_retention", message: `visitor-level data before ${kept} is deleted by the daily retention cron (AGG_VISITOR_DAYS / RETENTION_DAYS): ${who} before then are not counted` };
}

/** Everything strictly older than this instant is deleted. */
export function retentionCutoff(now: number, days: number): number {
  return now - days * DAY_MS;
}

/** Rows removed per table. */
export interface PurgeResult {
  cutoff: number;
  decisions: number;
  events: number;
}

async function purgeTable(db: D1Database, table: "decisions" | "events", cutoff: number, chunk: number, maxChunks: number): Promise<number> {
  // Only rows whose lake file is written and that the aggregates have folded: an unflushed,
  // half-flushed or unfolded row stays until the lake and the aggregates have it.
  const stmt = db.prepare(
    `DELETE FROM ${table} WHERE rowid IN (SELECT t.rowid FROM ${table} t JOIN lake_files f ON f.key = t.lake_file ` +
      "WHERE t.time < ? AND f.written_at IS NOT NULL AND t.agg_applied = 1 LIMIT ?)",
  );
  let removed = 0;
  for (let i = 0; i < maxChunks; i++) {
    const changes = (await stmt.bind(cutoff, chunk).run()).meta.changes ?? 0;
    removed += changes;
    if (changes < chunk) break;
  }
  return removed;
}

/**
 * Deletes audit rows and events older than `cutoff` that the lake has written. What is left over
 * (too many rows, or rows not yet in the lake) is taken by a later run.
 */
export async function purgeBefore(db: D1Database, cutoff: number, chunk = 5000, maxChunks = 200): Promise<PurgeResult> {
  return {
    cutoff,
    decisions: await purgeTable(db, "decisions", cutoff, chunk, maxChunks),
    events: await purgeTable(db, "events", cutoff, chunk, maxChunks),
  };
}

/**
 * The cron job: folds rows the aggregates have not seen (foldPending: a catch-up, the consumer
 * folds as it writes), catches the lake up (flushLake), applies pending visitor erasures to lake
 * files (runLakeErasures), prunes D1 to its window, deletes lake partitions older than the
 * retention, then the visitor-level aggregates older than AGG_VISITOR_DAYS. A failing step is
 * logged and the others still run: pruning only ever deletes rows already in written lake files
 * and folded into the aggregates.
 */
export async function runRetention(
  env: Pick<Env, "DB" | "LAKE"> & { RETENTION_DAYS?: string; D1_WINDOW_DAYS?: string; AGG_VISITOR_DAYS?: string },
  scheduledTime: number,
): Promise<
  PurgeResult & { lake: FlushResult | null; lakeErasures: LakeErasureResult | null; lakePruned: LakePruneResult | null; visitorAggregates: VisitorAggregatePrune | null }
> {
  let lake: FlushResult | null = null;
  let lakeErasures: LakeErasureResult | null = null;
  let lakePruned: LakePruneResult | null = null;
  try {
    await foldPending(env.DB);
  } catch (err) {
    console.error("retention: folding pending rows into the aggregates failed; unfolded rows are kept", err);
  }
  try {
    lake = await flushLake(env.DB, env.LAKE, { now: scheduledTime });
    console.log(`retention: lake flush wrote ${lake.files.length} files${lake.more ? ", more left for the next run" : ""}`);
    // After the flush: rows claimed before a visitor's erasure are in the lake by now.
    lakeErasures = await runLakeErasures(env.DB, env.LAKE, { now: scheduledTime });
  } catch (err) {
    console.error("retention: lake flush or erasure pass failed; unflushed rows are kept, erasures stay pending", err);
  }
  const retention = retentionDays(env.RETENTION_DAYS);
  const d1Cutoff = retentionCutoff(scheduledTime, d1WindowDays(env.D1_WINDOW_DAYS, retention));
  let result: PurgeResult = { cutoff: d1Cutoff, decisions: 0, events: 0 };
  try {
    result = await purgeBefore(env.DB, d1Cutoff);
    console.log(`retention: deleted ${result.decisions} decisions and ${result.events} events older than ${new Date(result.cutoff).toISOString()} from D1`);
  } catch (err) {
    console.error("retention: pruning raw rows from D1 failed; the next run retries", err);
  }
  try {
    lakePruned = await pruneLake(env.DB, env.LAKE, retentionCutoff(scheduledTime, retention));
    console.log(`retention: deleted ${lakePruned.files} lake files (${lakePruned.rows} rows) past ${retention} days`);
  } catch (err) {
    console.error("retention: lake pruning failed; the next run retries", err);
  }
  let visitorAggregates: VisitorAggregatePrune | null = null;
  const aggDays = env.AGG_VISITOR_DAYS?.trim();
  if (aggDays && positiveDays(aggDays) === undefined) console.warn(`retention: AGG_VISITOR_DAYS=${JSON.stringify(aggDays)} is not a positive number of days; using RETENTION_DAYS (${retention})`);
  try {
    visitorAggregates = await pruneVisitorAggregates(env.DB, retentionCutoff(scheduledTime, visitorAggregateDays(env.AGG_VISITOR_DAYS, retention)));
    const n = Object.values(visitorAggregates.deleted).reduce((a, b) => a + b, 0);
    console.log(`retention: deleted ${n} visitor-level aggregate rows of days before ${visitorAggregates.cutoffDay}${visitorAggregates.more ? ", more left for the next run" : ""}`);
  } catch (err) {
    console.error("retention: pruning visitor-level aggregates failed; the next run retries", err);
  }
  // Ids of expired identify tokens: a replay would fail on `exp` anyway.
  await pruneUsedTokens(env.DB, scheduledTime).catch((err) => console.error("retention: pruning used identify tokens failed", err));
  return { ...result, lake, lakeErasures, lakePruned, visitorAggregates };
}
