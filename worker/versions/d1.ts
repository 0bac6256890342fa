/**
 * The D1 half of a versioned configuration document (moments, the actions catalog): one table per
 * document with `version INTEGER PRIMARY KEY AUTOINCREMENT`, the document as JSON text in its own
 * column, `author`, `created_at` (ms), `action` (`put` | `rollback`) and `restored_from`. Every
 * save is a new row; saving is a compare-and-set on the newest version (one
 * `INSERT … SELECT … WHERE`), which `If-Match` on the admin routes relies on. The stores above it
 * parse the document and decide where the version in force is served from.
 */

export type VersionAction = "put" | "rollback";

/** Who saved a version, when and how (no document). */
export interface VersionSummary {
  version: number;
  author: string;
  createdAt: number;
  action: VersionAction;
  restoredFrom?: number;
}

/** A stored version: its summary and the document's JSON text. */
export interface VersionRow extends VersionSummary {
  json: string;
}

/** Options of a save: how, and the version the caller saw (null result when it is no longer the newest). */
export interface SaveOptions {
  action?: VersionAction;
  restoredFrom?: number;
  expectedVersion?: number;
}

interface Raw {
  version: number;
  json: string;
  author: string;
  createdAt: number;
  action: VersionAction;
  restoredFrom: number | null;
}

const summaryOf = (r: Omit<Raw, "json">): VersionSummary => ({ version: r.version, author: r.author, createdAt: r.createdAt, action: r.action, ...(r.restoredFrom !== null ? { restoredFrom: r.restoredFrom } : {}) });
const rowOf = (r: Raw): VersionRow => ({ ...summaryOf(r), json: r.json });

/**
 * The versions of one document in `table`, its JSON in `column`. Both names are constants of the
 * calling store, never input.
 */
export function d1Versions(db: D1Database, table: string, column: string) {
  const summaryColumns = "version, author, created_at AS createdAt, action, restored_from AS restoredFrom";
  const columns = `${summaryColumns}, ${column} AS json`;
  return {
    /** The newest version, or null when none was saved. */
    async latest(): Promise<VersionRow | null> {
      const r = await db.prepare(`SELECT ${columns} FROM ${table} ORDER BY version DESC LIMIT 1`).first<Raw>();
      return r ? rowOf(r) : null;
    },
    async get(version: number): Promise<VersionRow | null> {
      const r = await db.prepare(`SELECT ${columns} FROM ${table} WHERE version = ?`).bind(version).first<Raw>();
      return r ? rowOf(r) : null;
    },
    /** Saves `doc` as a new version; null when `expectedVersion` is given and no longer the newest. */
    async save(doc: unknown, author: string, at: number, options: SaveOptions = {}): Promise<VersionSummary | null> {
      const action = options.action ?? "put";
      const restoredFrom = options.restoredFrom ?? null;
      const r = await db
        .prepare(
          `INSERT INTO ${table} (${column}, author, created_at, action, restored_from)
           SELECT ?1, ?2, ?3, ?4, ?5 WHERE ?6 IS NULL OR (SELECT COALESCE(MAX(version), 0) FROM ${table}) = ?6
           RETURNING version`,
        )
        .bind(JSON.stringify(doc), author, at, action, restoredFrom, options.expectedVersion ?? null)
        .first<{ version: number }>();
      return r ? { version: r.version, author, createdAt: at, action, ...(restoredFrom !== null ? { restoredFrom } : {}) } : null;
    },
    /** The newest `limit` versions, newest first, without their documents. */
    async history(limit: number): Promise<VersionSummary[]> {
      const { results } = await db.prepare(`SELECT ${summaryColumns} FROM ${table} ORDER BY version DESC LIMIT ?`).bind(limit).all<Omit<Raw, "json">>();
      return results.map(summaryOf);
    },
  };
}
