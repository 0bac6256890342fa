/**
 * When the log consumer writes the lake. Flushing after every queue batch (a second of traffic,
 * often a few dozen rows) made many small Parquet files — slow for every reader (DuckDB, Spark and
 * BigQuery pay per file) — and spent the consumer's CPU re-reading and re-encoding rows a batch
 * at a time. Instead a consumer isolate flushes once `fileRows` rows have been committed since its
 * last flush (a full file) or `intervalMs` has passed, and the cron trigger (every five
 * minutes, LAKE_FLUSH_CRON) flushes what a quiet period left. Readers of the lake in this Worker (export,
 * evaluation) catch it up first (`prepareLakeForReading`), so they never miss a row.
 */
import { DEFAULT_MAX_ROWS } from "./flush.ts";

/** The cron expression (wrangler.toml [triggers]) that flushes the lake; any other runs retention. */
export const LAKE_FLUSH_CRON = "*/5 * * * *";

/** Seconds between flushes when LAKE_FLUSH_SECONDS is unset or invalid. */
export const DEFAULT_LAKE_FLUSH_SECONDS = 60;

/** What one consumer isolate remembers between batches. */
export interface FlushCadence {
  /** Rows committed since this isolate last flushed. */
  rowsSince: number;
  /** When it last flushed, ms (0: never, so its first batch flushes). */
  lastFlushAt: number;
}

/** Reads LAKE_FLUSH_SECONDS: a number of seconds ≥ 0 (0 flushes after every batch), else the default. */
export function lakeFlushIntervalMs(value: string | undefined): number {
  const n = Number(value);
  return (value !== undefined && value.trim() !== "" && Number.isFinite(n) && n >= 0 ? n : DEFAULT_LAKE_FLUSH_SECONDS) * 1000;
}

/**
 * Counts `rows` just committed and says whether to flush now; when it says yes it also resets the
 * cadence (the caller flushes).
 */
export function lakeFlushDue(cadence: FlushCadence, rows: number, now: number, intervalMs: number, fileRows = DEFAULT_MAX_ROWS): boolean {
  cadence.rowsSince += rows;
  if (cadence.rowsSince < fileRows && now - cadence.lastFlushAt < intervalMs) return false;
  cadence.rowsSince = 0;
  cadence.lastFlushAt = now;
  return true;
}
