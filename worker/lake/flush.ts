/**
 * Moves raw decisions and events from D1 to the Parquet lake in R2, each row into exactly one
 * file, through a ledger in D1 (migrations/0005_lake.sql):
 *
 *  1. claim: one D1 transaction records a new file key in `lake_files` and stamps up to
 *     `maxRows` unflushed rows of one UTC hour with it (`lake_file`). A row is claimed once:
 *     the UPDATE only takes rows whose `lake_file` is NULL, and D1 runs transactions one at a time.
 *  2. write: the file is built from exactly the rows stamped with its key, in (time, id) order,
 *     and put under that key. Its bytes depend only on those rows.
 *  3. mark: `lake_files.written_at` is set.
 *
 * A crash (or a failing put) between claim and mark leaves the file claimed; every later flush
 * first rewrites claimed files under the same key from the same rows, so the object ends up
 * complete and no row is ever in two files. Two flushers rewriting the same claimed file put the
 * same bytes. Rows erased (visitor erasure) before the rewrite are simply not in it.
 */
import { fileKey, hourStart, HOUR_MS } from "./keys.ts";
import { encodeLakeFile } from "./parquet.ts";
import { d1Columns, LAKE_SCHEMA_VERSION, LAKE_TABLES, TABLES, type LakeTable } from "./schema.ts";

/** Rows per file when the caller does not say. Decision rows with 50 candidates are ~6 KB in D1. */
export const DEFAULT_MAX_ROWS = 1000;
/** Files one call writes at most, so a backlog is worked off over several calls (the cron's, the consumer's). */
export const DEFAULT_MAX_FILES = 50;
/** Rows read from D1 per query while building a file. */
const READ_PAGE = 250;

export interface FlushOptions {
  /** Clock (ms) for the ledger's claim and write times and the batch id. */
  now: number;
  /** Rows per file (default 1000). */
  maxRows?: number;
  /** Files per call (default 50); what is left is taken by the next call. */
  maxFiles?: number;
  /** Random bytes of batch ids (default: crypto.getRandomValues); injectable for tests. */
  random?: () => Uint8Array;
}

/** One file written by a flush. */
export interface FlushedFile {
  key: string;
  table: LakeTable;
  rows: number;
  bytes: number;
  /** True when the file had been claimed by an earlier, interrupted flush. */
  resumed: boolean;
}

export interface FlushResult {
  files: FlushedFile[];
  /** True when rows or claimed files were left for a later call (maxFiles reached). */
  more: boolean;
}

const defaultRandom = () => crypto.getRandomValues(new Uint8Array(6));

/** Reads the rows claimed for `key`, in file order, a page at a time. */
async function claimedRows(db: D1Database, table: LakeTable, key: string): Promise<Record<string, unknown>[]> {
  const id = TABLES[table].id;
  const select = `SELECT ${d1Columns(table).join(", ")} FROM ${table} WHERE lake_file = ?1`;
  const first = db.prepare(`${select} ORDER BY time, ${id} LIMIT ?2`);
  const next = db.prepare(`${select} AND (time > ?3 OR (time = ?3 AND ${id} > ?4)) ORDER BY time, ${id} LIMIT ?2`);
  const rows: Record<string, unknown>[] = [];
  for (;;) {
    const last = rows[rows.length - 1];
    const stmt = last ? next.bind(key, READ_PAGE, last.time, last[id]) : first.bind(key, READ_PAGE);
    const { results } = await stmt.all<Record<string, unknown>>();
    rows.push(...results);
    if (results.length < READ_PAGE) return rows;
  }
}

/** Builds the file of a claimed key from its rows, puts it, and marks it written. */
async function writeFile(db: D1Database, bucket: R2Bucket, table: LakeTable, key: string, now: number, resumed: boolean): Promise<FlushedFile> {
  const rows = await claimedRows(db, table, key);
  if (rows.length === 0) {
    // Every row of the claim was erased before the file was written: nothing to keep.
    await db.prepare("DELETE FROM lake_files WHERE key = ?").bind(key).run();
    await bucket.delete(key);
    return { key, table, rows: 0, bytes: 0, resumed };
  }
  const body = encodeLakeFile(table, rows);
  await bucket.put(key, body, {
    httpMetadata: { contentType: "application/vnd.apache.parquet" },
    customMetadata: { rows: String(rows.length), schemaVersion: String(LAKE_SCHEMA_VERSION) },
  });
  await db.prepare("UPDATE lake_files SET written_at = ?, rows = ?, bytes = ? WHERE key = ?").bind(now, rows.length, body.byteLength, key).run();
  return { key, table, rows: rows.length, bytes: body.byteLength, resumed };
}

/**
 * Claims the next file of `table`: up to `maxRows` unflushed rows of the hour of the oldest
 * unflushed row. Returns its key, or null when nothing is left to flush.
 */
async function claim(db: D1Database, table: LakeTable, opts: Required<Omit<FlushOptions, "maxFiles">>): Promise<string | null> {
  const id = TABLES[table].id;
  const oldest = await db.prepare(`SELECT time FROM ${table} WHERE lake_file IS NULL ORDER BY time LIMIT 1`).first<{ time: number }>();
  if (!oldest) return null;
  const hour = hourStart(oldest.time);
  const key = fileKey(table, hour, opts.now, opts.random());
  const [, claimed] = await db.batch([
    db.prepare("INSERT INTO lake_files (key, tbl, hour, claimed_at) VALUES (?, ?, ?, ?)").bind(key, table, hour, opts.now),
    db
      .prepare(
        `UPDATE ${table} SET lake_file = ?1 WHERE rowid IN (SELECT rowid FROM ${table} WHERE lake_file IS NULL AND time >= ?2 AND time < ?3 ` +
          `ORDER BY time, ${id} LIMIT ?4)`,
      )
      .bind(key, hour, hour + HOUR_MS, opts.maxRows),
  ]);
  if ((claimed!.meta.changes ?? 0) > 0) return key;
  // Another flusher took the rows between our look and our claim: drop the empty entry.
  await db.prepare("DELETE FROM lake_files WHERE key = ?").bind(key).run();
  return null;
}

/**
 * Writes unflushed decisions and events to the lake: first any file an earlier flush claimed but
 * did not finish (same key, same rows, same bytes), then new files, one UTC hour per file, oldest
 * rows first, until nothing is left or `maxFiles` files were written.
 *
 * Called by the queue consumer after each committed batch and by the cron before retention.
 * Errors (D1 or R2) propagate; the claimed rows stay claimed and the next call finishes them.
 *
 * @param db the D1 database with the `decisions`, `events` and `lake_files` tables
 * @param bucket the lake bucket (binding LAKE)
 */
export async function flushLake(db: D1Database, bucket: R2Bucket, opts: FlushOptions): Promise<FlushResult> {
  const maxFiles = opts.maxFiles ?? DEFAULT_MAX_FILES;
  const full = { now: opts.now, maxRows: opts.maxRows ?? DEFAULT_MAX_ROWS, random: opts.random ?? defaultRandom };
  const files: FlushedFile[] = [];

  const pending = await db.prepare("SELECT key, tbl FROM lake_files WHERE written_at IS NULL ORDER BY key LIMIT ?").bind(maxFiles + 1).all<{ key: string; tbl: LakeTable }>();
  for (const p of pending.results) {
    if (files.length >= maxFiles) return { files, more: true };
    files.push(await writeFile(db, bucket, p.tbl, p.key, opts.now, true));
  }
  for (const table of LAKE_TABLES) {
    for (;;) {
      if (files.length >= maxFiles) return { files, more: true };
      const key = await claim(db, table, full);
      if (!key) break;
      files.push(await writeFile(db, bucket, table, key, opts.now, false));
    }
  }
  return { files, more: false };
}

/** Rows not yet in a written lake file, per table (what retention must keep). */
export async function lakeBacklog(db: D1Database): Promise<Record<LakeTable, number>> {
  const count = (table: LakeTable) =>
    db
      .prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE lake_file IS NULL OR lake_file IN (SELECT key FROM lake_files WHERE written_at IS NULL)`)
      .first<{ n: number }>()
      .then((r) => r?.n ?? 0);
  return { decisions: await count("decisions"), events: await count("events") };
}

/**
 * Flushes until nothing is left (at most `maxRounds` calls of flushLake): what readers of the
 * lake call first, so that rows logged a moment ago are in what they read.
 */
export async function catchUpLake(db: D1Database, bucket: R2Bucket, now: number, maxRounds = 20): Promise<number> {
  let files = 0;
  for (let round = 0; round < maxRounds; round++) {
    const result = await flushLake(db, bucket, { now });
    files += result.files.length;
    if (!result.more) return files;
  }
  throw new Error(`the lake is more than ${maxRounds * DEFAULT_MAX_FILES} files behind; the cron and the queue consumer catch it up`);
}
