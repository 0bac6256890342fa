/**
 * Counters of the log pipeline in D1 (`pipeline_stats`, migrations/0004_pipeline.sql): what the
 * producers sent and lost, what the consumer stored, when it last wrote a batch. They feed
 * `GET /admin/pipeline`. Producer counts are tallied per isolate and written at most once a
 * second (worker/pipeline/producer.ts), so no request waits for, or pays for, a counter write.
 */

/** Counter names. `*_at` counters hold a time (ms) and only move forward. */
export type StatName =
  | "decisions_sent"
  | "events_sent"
  | "decisions_lost"
  | "events_lost"
  | "decisions_stored"
  | "events_stored"
  | "decisions_duplicates"
  | "events_duplicates"
  | "batches"
  | "last_batch_at"
  | "write_failures"
  | "after_commit_failures";

const ADD =
  "INSERT INTO pipeline_stats (name, value, note, updated_at) VALUES (?, ?, ?, ?) " +
  "ON CONFLICT (name) DO UPDATE SET value = value + excluded.value, note = COALESCE(excluded.note, note), updated_at = excluded.updated_at";
const MAX =
  "INSERT INTO pipeline_stats (name, value, updated_at) VALUES (?, ?, ?) " +
  "ON CONFLICT (name) DO UPDATE SET value = MAX(value, excluded.value), updated_at = excluded.updated_at";

/** Statements adding `deltas` to their counters (zero deltas are skipped); `note` records an error. */
export function addStats(db: D1Database, deltas: Partial<Record<StatName, number>>, now: number, note?: string): D1PreparedStatement[] {
  const add = db.prepare(ADD);
  return Object.entries(deltas)
    .filter(([, n]) => n)
    .map(([name, n]) => add.bind(name, n, note?.slice(0, 500) ?? null, now));
}

/** Statement moving a time counter forward to `value` (never back). */
export function maxStat(db: D1Database, name: StatName & `${string}_at`, value: number): D1PreparedStatement {
  return db.prepare(MAX).bind(name, value, value);
}

/** One counter as stored. */
export interface Stat {
  value: number;
  note: string | null;
  updatedAt: number;
}

/** All counters, read at once; a counter never written reads as zero. */
export async function readStats(db: D1Database): Promise<(name: StatName) => Stat> {
  const { results } = await db.prepare("SELECT name, value, note, updated_at FROM pipeline_stats").all<{ name: StatName; value: number; note: string | null; updated_at: number }>();
  const stats = new Map(results.map((r) => [r.name, { value: r.value, note: r.note, updatedAt: r.updated_at }]));
  return (name) => stats.get(name) ?? { value: 0, note: null, updatedAt: 0 };
}
