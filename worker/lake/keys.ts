/**
 * Object keys of the lake: `lake/<table>/dt=YYYY-MM-DD/hour=HH/<batch-id>.parquet` (Hive-style
 * partitions, which DuckDB's `hive_partitioning`, Spark and BigQuery external tables read as
 * columns). The partition is the UTC hour of the file's rows, never the time of the flush.
 */
import type { LakeTable } from "./schema.ts";
import { hex } from "../crypto/hex.ts";

export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

/** Start of the UTC hour containing `time` (ms). */
export function hourStart(time: number): number {
  return Math.floor(time / HOUR_MS) * HOUR_MS;
}

/** `dt=YYYY-MM-DD/hour=HH` of the hour containing `time`. */
export function partition(time: number): string {
  const iso = new Date(hourStart(time)).toISOString();
  return `dt=${iso.slice(0, 10)}/hour=${iso.slice(11, 13)}`;
}

/** Prefix of every file of a table. */
export function tablePrefix(table: LakeTable): string {
  return `lake/${table}/`;
}

/** Prefix of one day's files of a table (`time` anywhere in the day). */
export function dayPrefix(table: LakeTable, time: number): string {
  return `${tablePrefix(table)}dt=${new Date(time).toISOString().slice(0, 10)}/`;
}

/**
 * A new file key for rows of the hour containing `rowTime`. The batch id is the claim time plus
 * random bits: unique across concurrent flushers, readable, and sorting by claim within an hour.
 */
export function fileKey(table: LakeTable, rowTime: number, claimedAt: number, random: Uint8Array): string {
  const stamp = new Date(claimedAt).toISOString().replace(/[-:.]/g, "");
  const suffix = hex(random);
  return `${tablePrefix(table)}${partition(rowTime)}/${stamp}-${suffix}.parquet`;
}

const KEY = /^lake\/(decisions|events)\/dt=(\d{4}-\d{2}-\d{2})\/hour=(\d{2})\/[^/]+\.parquet$/;

/** The table and hour start (ms) a key belongs to; null for keys that are not lake files. */
export function parseKey(key: string): { table: LakeTable; hour: number } | null {
  const m = KEY.exec(key);
  if (!m) return null;
  const hour = Date.parse(`${m[2]}T${m[3]}:00:00Z`);
  return Number.isFinite(hour) ? { table: m[1] as LakeTable, hour } : null;
}
