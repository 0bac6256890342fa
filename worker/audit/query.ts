import { AppError } from "../errors/app-error.ts";
import { rowToRecord, type DecisionRow } from "./d1.ts";
import type { AuditRecord } from "./record.ts";

/** Filters of `GET /admin/decisions`. The visitor is given as its key (hash the raw id first). */
export interface DecisionFilter {
  from?: number;
  to?: number;
  slot?: string;
  visitorKey?: string;
  blockId?: string;
  modelVersion?: string;
  limit: number;
  cursor?: string;
}

/** One page of the audit log, newest first. */
export interface DecisionPage {
  decisions: AuditRecord[];
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

/** Opaque keyset cursor: the (time, decisionId) of the last row of a page. */
export function encodeCursor(time: number, decisionId: string): string {
  return btoa(JSON.stringify([time, decisionId])).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Reads a cursor; a forged or damaged one is a client error. */
export function decodeCursor(cursor: string): { time: number; decisionId: string } {
  try {
    const [time, decisionId] = JSON.parse(atob(cursor.replace(/-/g, "+").replace(/_/g, "/")));
    if (Number.isInteger(time) && typeof decisionId === "string") return { time, decisionId };
  } catch {
    // falls through to the error below
  }
  throw new AppError("invalid_request", "cursor: not a cursor from a previous page");
}

/**
 * Lists audit rows matching the filter, newest first, with keyset pagination (stable while rows
 * are added, and every page costs the same however deep it is).
 */
export async function listDecisions(db: D1Database, f: DecisionFilter): Promise<DecisionPage> {
  const where: string[] = [];
  const args: unknown[] = [];
  const add = (sql: string, ...values: unknown[]) => {
    where.push(sql);
    args.push(...values);
  };
  if (f.from !== undefined) add("time >= ?", f.from);
  if (f.to !== undefined) add("time < ?", f.to);
  if (f.slot) add("slot = ?", f.slot);
  if (f.visitorKey) add("visitor_key = ?", f.visitorKey);
  if (f.blockId) add("chosen_block_id = ?", f.blockId);
  if (f.modelVersion) add("model_version = ?", f.modelVersion);
  if (f.cursor) {
    const c = decodeCursor(f.cursor);
    add("(time < ? OR (time = ? AND decision_id < ?))", c.time, c.time, c.decisionId);
  }
  const sql =
    `SELECT * FROM decisions${where.length ? ` WHERE ${where.join(" AND ")}` : ""} ` +
    "ORDER BY time DESC, decision_id DESC LIMIT ?";
  // One row more than asked tells whether another page exists.
  const { results } = await db.prepare(sql).bind(...args, f.limit + 1).all<DecisionRow>();
  const rows = results.slice(0, f.limit);
  const last = rows[rows.length - 1];
  return {
    decisions: rows.map(rowToRecord),
    nextCursor: results.length > f.limit && last ? encodeCursor(last.time, last.decision_id) : null,
  };
}

/** One decision of the audit log by its id, or null when there is none (erased, expired, never logged). */
export async function getDecision(db: D1Database, decisionId: string): Promise<AuditRecord | null> {
  const row = await db.prepare("SELECT * FROM decisions WHERE decision_id = ?").bind(decisionId).first<DecisionRow>();
  return row ? rowToRecord(row) : null;
}

/** Deletes a visitor's audit rows; returns how many. */
export async function eraseVisitorDecisions(db: D1Database, visitorKey: string): Promise<number> {
  const res = await db.prepare("DELETE FROM decisions WHERE visitor_key = ?").bind(visitorKey).run();
  return res.meta.changes ?? 0;
}
