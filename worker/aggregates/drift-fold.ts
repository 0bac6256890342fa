/**
 * How the per-decision drift rows (./drift.ts, ./drift-bins.ts) are folded, in the batch's
 * transaction, in one of two ways:
 *
 * - **batch totals**, when every decision of the batch is still unapplied (`agg_applied = 0`, the
 *   usual case: a first delivery): the rows are summed here per key and inserted as they are — a
 *   few dozen rows per table and batch;
 * - **per decision** otherwise (a redelivered or partly stored batch): each row is joined with its
 *   decision and folded only for decisions not applied yet, as before.
 *
 * Both statements test the same condition, before the batch marks its decisions applied, so
 * exactly one of them inserts anything and a redelivery still changes nothing. Why: the
 * per-decision path had SQLite expand and join one JSON row per decision × feature × bin — about
 * 0.2 ms of the ≈ 0.6 ms it took to insert and fold one decision with 50 candidates and 16
 * features (the four drift statements timed one by one against the local D1, which runs on the
 * Worker's own thread under `wrangler dev`).
 */
import { NEW_DECISION } from "./sql.ts";

/** An additive aggregate table: key columns, then the columns summed on conflict. */
export interface FoldTable {
  table: string;
  keys: readonly string[];
  values: readonly string[];
}

/** One decision's contribution: `[decisionId, ...keys, ...values]`. */
export type DecisionRow = readonly [string, ...(string | number)[]];

const at = (i: number) => `json_extract(r.value, '$[${i}]')`;

/** True inside the transaction while every decision of the batch (?1, JSON ids; ?3, their distinct count) is unapplied. */
const ALL_NEW = `((SELECT COUNT(*) FROM decisions n WHERE ${NEW_DECISION("n")}) = ?3)`;

const onConflict = (t: FoldTable) => `ON CONFLICT DO UPDATE SET ${t.values.map((v) => `${v} = ${v} + excluded.${v}`).join(", ")}`;
const columns = (t: FoldTable) => [...t.keys, ...t.values].join(", ");

/** SQL of the batch-totals insert: ?2 holds rows `[...keys, ...values]`. */
export function totalsSql(t: FoldTable): string {
  const select = [...t.keys, ...t.values].map((_, i) => at(i)).join(", ");
  return `INSERT INTO ${t.table} (${columns(t)}) SELECT ${select} FROM json_each(?2) r WHERE ${ALL_NEW} ${onConflict(t)}`;
}

/** SQL of the per-decision insert: ?2 holds rows `[decisionId, ...keys, ...values]`. */
export function perDecisionSql(t: FoldTable): string {
  const keys = t.keys.map((_, i) => at(i + 1));
  const sums = t.values.map((_, i) => `SUM(${at(1 + t.keys.length + i)})`);
  const groupBy = t.keys.map((_, i) => i + 1).join(", ");
  return `INSERT INTO ${t.table} (${columns(t)}) SELECT ${[...keys, ...sums].join(", ")}
     FROM json_each(?2) r JOIN decisions d ON d.decision_id = ${at(0)}
     WHERE ${NEW_DECISION("d")} AND NOT ${ALL_NEW} GROUP BY ${groupBy} ${onConflict(t)}`;
}

/**
 * The per-decision rows summed per key (the decision id dropped), in first-seen key order. Sums
 * are compensated (Kahan–Babuška–Neumaier; Neumaier, "Rundungsfehleranalyse einiger Verfahren zur
 * Summation endlicher Summen", ZAMM 54, 1974), as SQLite's SUM() has been since 3.43.0
 * (https://sqlite.org/releaselog/3_43_0.html), so both fold paths round alike: 0.1 + 0.2 + 0.3 is
 * 0.6 either way.
 */
export function batchTotals(t: FoldTable, rows: readonly DecisionRow[]): (string | number)[][] {
  const k = t.keys.length;
  const totals = new Map<string, { keys: (string | number)[]; sum: number[]; comp: number[] }>();
  for (const row of rows) {
    const keys = row.slice(1, 1 + k);
    const id = JSON.stringify(keys);
    let total = totals.get(id);
    if (!total) totals.set(id, (total = { keys, sum: t.values.map(() => 0), comp: t.values.map(() => 0) }));
    for (let i = 0; i < t.values.length; i++) {
      const x = row[1 + k + i] as number;
      const s = total.sum[i]!;
      const next = s + x;
      total.comp[i]! += Math.abs(s) >= Math.abs(x) ? s - next + x : x - next + s;
      total.sum[i] = next;
    }
  }
  return [...totals.values()].map(({ keys, sum, comp }) => [...keys, ...sum.map((s, i) => s + comp[i]!)]);
}

/**
 * Largest JSON text bound to one statement, characters. D1 refuses a string over 2,000,000 bytes
 * (SQLITE_TOOBIG; https://developers.cloudflare.com/d1/platform/limits/), and the per-decision
 * rows of a few hundred decisions of 50 candidates × 16 features are more than that.
 */
export const MAX_JSON_CHARS = 1_000_000;

/**
 * `rows` as JSON arrays of at most `maxChars` each (a longer row alone), in order. A row with a
 * character outside ASCII counts three per character, so the pieces stay under the limit in
 * UTF-8 bytes too.
 */
export function jsonPieces(rows: readonly unknown[], maxChars = MAX_JSON_CHARS): string[] {
  const pieces: string[] = [];
  let current: string[] = [];
  let size = 2;
  for (const row of rows) {
    const json = JSON.stringify(row);
    const n = /^[\x00-\x7f]*$/.test(json) ? json.length : 3 * json.length;
    if (current.length && size + n + 1 > maxChars) {
      pieces.push(`[${current.join(",")}]`);
      current = [];
      size = 2;
    }
    current.push(json);
    size += n + 1;
  }
  if (current.length) pieces.push(`[${current.join(",")}]`);
  return pieces;
}

/**
 * The statements for one table (none without rows): the batch totals, then the per-decision
 * rows, each split into as many statements as D1's string limit needs (every piece tests the same
 * condition, and sums add up across pieces). `prepare` binds ?1 the batch's decision ids (JSON),
 * ?2 the rows (JSON), ?3 how many distinct decision ids the batch has.
 */
export function foldStatements(
  prepare: (sql: string, ...args: unknown[]) => D1PreparedStatement,
  t: FoldTable,
  rows: readonly DecisionRow[],
  decisionIds: string,
  distinctIds: number,
): D1PreparedStatement[] {
  if (!rows.length) return [];
  return [
    ...jsonPieces(batchTotals(t, rows)).map((piece) => prepare(totalsSql(t), decisionIds, piece, distinctIds)),
    ...jsonPieces(rows).map((piece) => prepare(perDecisionSql(t), decisionIds, piece, distinctIds)),
  ];
}
