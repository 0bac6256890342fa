/**
 * SQL the visitor object's modules share. Multi-row inserts within the platform's limit of 100
 * bound parameters per statement (Cloudflare, Durable Objects limits: "Maximum bound parameters
 * per query 100"); local workerd does not enforce it, so a batch that passes every local test
 * could fail deployed: every multi-row insert of the visitor object goes through here. And the
 * lookup that keeps table creation off reads (`hasTables`).
 */

/** Most bound parameters in one statement. */
export const MAX_BOUND_PARAMETERS = 100;

/**
 * Runs `${head} VALUES (?, …), … ${tail}` for `rows`, as many rows a statement as fit in 100
 * parameters, in the caller's transaction. Rows must all have the same length (1–100 values).
 * Example: `insertRows(sql, "INSERT INTO t (a, b)", [[1, "x"], [2, "y"]], "ON CONFLICT (a) DO NOTHING")`.
 */
export function insertRows(sql: SqlStorage, head: string, rows: SqlStorageValue[][], tail = ""): void {
  if (rows.length === 0) return;
  const width = rows[0]!.length;
  const perStatement = Math.floor(MAX_BOUND_PARAMETERS / width);
  const row = `(${Array.from({ length: width }, () => "?").join(", ")})`;
  for (let i = 0; i < rows.length; i += perStatement) {
    const part = rows.slice(i, i + perStatement);
    sql.exec(`${head} VALUES ${part.map(() => row).join(", ")}${tail ? ` ${tail}` : ""}`, ...part.flat());
  }
}

/**
 * True when every table in `names` exists. Checked before `CREATE TABLE IF NOT EXISTS`: that
 * statement counts as a write even when the table exists (SQLite does not report it read-only),
 * so workerd would hold the object's answer for a commit on a call that only reads.
 */
export function hasTables(sql: SqlStorage, names: readonly string[]): boolean {
  const found = sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name IN (${names.map(() => "?").join(", ")})`, ...names).one().n;
  return found === names.length;
}
