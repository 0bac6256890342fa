/**
 * Retention of the lake: whole hour partitions older than the retention period are deleted from
 * R2 with their ledger rows. The lake is the long-term copy of the log (D1 keeps only a short
 * window), so this is where `RETENTION_DAYS` is finally honoured.
 */
import { HOUR_MS } from "./keys.ts";

/** What one pruning pass removed. */
export interface LakePruneResult {
  /** Files (objects) deleted. */
  files: number;
  /** Rows those files held, per the ledger. */
  rows: number;
  /** True when the pass stopped at its budget and older files remain for the next run. */
  more: boolean;
}

/**
 * Deletes every written lake file whose hour ended at or before `cutoff` (ms), oldest first, at
 * most `maxFiles` per call. The object goes first and the ledger row after, so a crash in between
 * leaves a ledger row whose object is already gone; the next pass deletes it again (R2 deletes of
 * missing keys succeed), so nothing is left behind.
 */
export async function pruneLake(db: D1Database, bucket: R2Bucket, cutoff: number, maxFiles = 1000): Promise<LakePruneResult> {
  const { results } = await db
    .prepare("SELECT key, rows FROM lake_files WHERE written_at IS NOT NULL AND hour + ? <= ? ORDER BY hour, key LIMIT ?")
    .bind(HOUR_MS, cutoff, maxFiles + 1)
    .all<{ key: string; rows: number }>();
  const batch = results.slice(0, maxFiles);
  // R2's delete takes up to 1,000 keys per call.
  for (let i = 0; i < batch.length; i += 1000) await bucket.delete(batch.slice(i, i + 1000).map((f) => f.key));
  const del = db.prepare("DELETE FROM lake_files WHERE key = ?");
  for (let i = 0; i < batch.length; i += 100) await db.batch(batch.slice(i, i + 100).map((f) => del.bind(f.key)));
  return { files: batch.length, rows: batch.reduce((n, f) => n + f.rows, 0), more: results.length > maxFiles };
}
