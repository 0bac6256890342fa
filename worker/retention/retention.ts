/**
 * Retention: audit rows and events older than the retention period are deleted from D1 by the
 * cron trigger. D1 is only the recent window: the lake (worker/lake/) keeps every row, so a row
 * is deleted only once the lake file it was claimed for is written (`lake_files.written_at`);
 * the cron flushes the lake first. Deletes run in bounded chunks so no single statement holds the
 * database for long and one run stays within a Worker's limits however much has piled up.
 */
import { runLakeErasures, type LakeErasureResult } from "../lake/erase.ts";
import { flushLake, type FlushResult } from "../lake/flush.ts";

/** Days kept when RETENTION_DAYS is unset or invalid. */
export const DEFAULT_RETENTION_DAYS = 90;
const DAY_MS = 86_400_000;

/** Reads RETENTION_DAYS: a positive number of days, else the default. */
export function retentionDays(value: string | undefined): number {
  const n = Number(value);
  return value !== undefined && value.trim() !== "" && Number.isFinite(n) && n > 0 ? n : DEFAULT_RETENTION_DAYS;
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
  // Only rows whose lake file is written: an unflushed or half-flushed row stays until the lake has it.
  const stmt = db.prepare(
    `DELETE FROM ${table} WHERE rowid IN (SELECT t.rowid FROM ${table} t JOIN lake_files f ON f.key = t.lake_file ` +
      "WHERE t.time < ? AND f.written_at IS NOT NULL LIMIT ?)",
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
 * The cron job: catches the lake up (flushLake, until nothing is left or the run's file budget is
 * spent), applies pending visitor erasures to lake files (runLakeErasures), then applies the configured retention at the trigger's scheduled time. A failing flush
 * is logged and pruning still runs: it only ever deletes rows already in written lake files.
 */
export async function runRetention(
  env: Pick<Env, "DB" | "LAKE"> & { RETENTION_DAYS?: string },
  scheduledTime: number,
): Promise<PurgeResult & { lake: FlushResult | null; lakeErasures: LakeErasureResult | null }> {
  let lake: FlushResult | null = null;
  let lakeErasures: LakeErasureResult | null = null;
  try {
    lake = await flushLake(env.DB, env.LAKE, { now: scheduledTime });
    console.log(`retention: lake flush wrote ${lake.files.length} files${lake.more ? ", more left for the next run" : ""}`);
    // After the flush: rows claimed before a visitor's erasure are in the lake by now.
    lakeErasures = await runLakeErasures(env.DB, env.LAKE, { now: scheduledTime });
  } catch (err) {
    console.error("retention: lake flush or erasure pass failed; unflushed rows are kept, erasures stay pending", err);
  }
  const result = await purgeBefore(env.DB, retentionCutoff(scheduledTime, retentionDays(env.RETENTION_DAYS)));
  console.log(`retention: deleted ${result.decisions} decisions and ${result.events} events older than ${new Date(result.cutoff).toISOString()}`);
  return { ...result, lake, lakeErasures };
}
