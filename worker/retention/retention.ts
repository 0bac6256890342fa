/**
 * Retention: audit rows and events older than the retention period are deleted by the cron
 * trigger. Deletes run in bounded chunks so no single statement holds the database for long and
 * one run stays within a Worker's limits however much has piled up.
 */

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
  const stmt = db.prepare(`DELETE FROM ${table} WHERE rowid IN (SELECT rowid FROM ${table} WHERE time < ? LIMIT ?)`);
  let removed = 0;
  for (let i = 0; i < maxChunks; i++) {
    const changes = (await stmt.bind(cutoff, chunk).run()).meta.changes ?? 0;
    removed += changes;
    if (changes < chunk) break;
  }
  return removed;
}

/** Deletes audit rows and events older than `cutoff`. What is left over is taken by the next run. */
export async function purgeBefore(db: D1Database, cutoff: number, chunk = 5000, maxChunks = 200): Promise<PurgeResult> {
  return {
    cutoff,
    decisions: await purgeTable(db, "decisions", cutoff, chunk, maxChunks),
    events: await purgeTable(db, "events", cutoff, chunk, maxChunks),
  };
}

/** The cron job: applies the configured retention at the trigger's scheduled time. */
export async function runRetention(env: Pick<Env, "DB"> & { RETENTION_DAYS?: string }, scheduledTime: number): Promise<PurgeResult> {
  const result = await purgeBefore(env.DB, retentionCutoff(scheduledTime, retentionDays(env.RETENTION_DAYS)));
  console.log(`retention: deleted ${result.decisions} decisions and ${result.events} events older than ${new Date(result.cutoff).toISOString()}`);
  return result;
}
