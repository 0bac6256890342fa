/**
 * Erasure reaches the lake. Erasing a visitor (DELETE /admin/visitors/:id, or consent
 * withdrawal) removes their D1 rows at once and records a lake erasure per table; the cron then
 * rewrites, in one pass for every pending erasure, each lake file that holds one of those visitors'
 * rows: same key, the other rows unchanged, the file deleted when nothing is left. Batching is
 * what warehouses do for deletes in immutable files (one rewrite per file, not per request).
 *
 * The cron runs the pass after its own flush, so rows claimed before the D1 erasure are already
 * in the lake when the pass looks. Left open: a queue-consumer flush that read the rows just
 * before their D1 erasure and writes them during the pass; erasing the visitor again removes them.
 */
import { listLakeFiles } from "./read.ts";
import { decodeLakeFile, encodeLakeFile } from "./parquet.ts";
import { LAKE_TABLES, type LakeTable } from "./schema.ts";

/** Records that a visitor's rows of `table` must leave the lake (idempotent; re-requesting reopens it). */
export async function requestLakeErasure(db: D1Database, visitorKey: string, table: LakeTable, now: number): Promise<void> {
  await db
    .prepare(
      "INSERT INTO lake_erasures (visitor_key, tbl, requested_at) VALUES (?, ?, ?) " +
        "ON CONFLICT (visitor_key, tbl) DO UPDATE SET requested_at = excluded.requested_at, done_at = NULL",
    )
    .bind(visitorKey, table, now)
    .run();
}

/** Turns a decoded lake row back into the D1 shape the encoder takes (lists as JSON text, flags as 0/1). */
function toD1Shape(table: LakeTable, row: Record<string, unknown>): Record<string, unknown> {
  if (table === "events") return row;
  const out: Record<string, unknown> = { ...row };
  for (const name of ["candidates", "feature_names", "features", "scores"]) out[name] = JSON.stringify(row[name]);
  for (const name of ["consent_personalization", "consent_analytics", "explored", "holdout"]) out[name] = row[name] ? 1 : 0;
  return out;
}

export interface LakeErasureResult {
  visitors: number;
  filesRewritten: number;
  filesDeleted: number;
  rowsRemoved: number;
}

/**
 * Applies pending lake erasures (at most `maxVisitors` per table per run): lists every file of
 * each table concerned, reads only its `visitor_key` column, and rewrites the files that hold an
 * erased visitor. Cost grows with the size of the lake, once per run, not per erasure.
 */
export async function runLakeErasures(db: D1Database, bucket: R2Bucket, opts: { now: number; maxVisitors?: number }): Promise<LakeErasureResult> {
  const result: LakeErasureResult = { visitors: 0, filesRewritten: 0, filesDeleted: 0, rowsRemoved: 0 };
  for (const table of LAKE_TABLES) {
    const { results } = await db
      .prepare("SELECT visitor_key, requested_at FROM lake_erasures WHERE tbl = ? AND done_at IS NULL ORDER BY requested_at LIMIT ?")
      .bind(table, opts.maxVisitors ?? 1000)
      .all<{ visitor_key: string; requested_at: number }>();
    if (results.length === 0) continue;
    const erased = new Set(results.map((r) => r.visitor_key));
    for (const file of await listLakeFiles(bucket, table, 0, Number.MAX_SAFE_INTEGER)) {
      const obj = await bucket.get(file.key);
      if (!obj) continue;
      const bytes = await obj.arrayBuffer();
      const keys = await decodeLakeFile(bytes, ["visitor_key"]);
      if (!keys.some((r) => erased.has(r.visitor_key as string))) continue;
      const all = await decodeLakeFile(bytes);
      const kept = all.filter((r) => !erased.has(r.visitor_key as string));
      result.rowsRemoved += all.length - kept.length;
      if (kept.length === 0) {
        await bucket.delete(file.key);
        await db.prepare("DELETE FROM lake_files WHERE key = ?").bind(file.key).run();
        result.filesDeleted++;
      } else {
        // Rows stay in (time, id) order: a filtered sorted list is sorted.
        const body = encodeLakeFile(table, kept.map((r) => toD1Shape(table, r)));
        await bucket.put(file.key, body, { httpMetadata: obj.httpMetadata, customMetadata: { ...obj.customMetadata, rows: String(kept.length) } });
        await db.prepare("UPDATE lake_files SET rows = ?, bytes = ? WHERE key = ?").bind(kept.length, body.byteLength, file.key).run();
        result.filesRewritten++;
      }
    }
    // Done only for requests older than this pass: one re-requested meanwhile stays pending.
    await db.batch(
      results.map((r) =>
        db.prepare("UPDATE lake_erasures SET done_at = ? WHERE visitor_key = ? AND tbl = ? AND requested_at = ?").bind(opts.now, r.visitor_key, table, r.requested_at),
      ),
    );
    result.visitors += results.length;
  }
  return result;
}
