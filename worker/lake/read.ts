/**
 * Reads logged decisions with their outcomes from the lake, for training export and off-policy
 * evaluation: the same `LoggedDecision`s, in the same order, as the D1 reader
 * (worker/export/query.ts) gives on the same rows, without scanning D1.
 *
 * Files are listed by partition key (only the days and hours of the window, via R2's ordered
 * listing) and read one at a time with hyparquet, only the columns needed. Decisions are taken
 * an hour partition at a time into batches of about `batchRows`; each batch's outcomes come from
 * the event files of the hours from one day before its first decision to `attributionDays` after
 * its last, so memory is bounded by a batch, not by the window.
 */
import { float32Shortener, float32Row } from "../audit/float32.ts";
import type { LoggedDecision } from "../export/line.ts";
import type { LoggedFilter } from "../export/query.ts";
import { DAY_MS, HOUR_MS, parseKey, tablePrefix } from "./keys.ts";
import { decodeLakeFile } from "./parquet.ts";
import type { LakeTable } from "./schema.ts";

export interface LakeReadOptions {
  /** Decisions per yielded page (default 200). */
  pageSize?: number;
  /** Decisions gathered before their outcomes are looked up (default 5000; whole hours). */
  batchRows?: number;
  /**
   * Events later than this many days after their decision are not attributed (default 30).
   * The D1 reader has no such limit; beyond it the lake and D1 answers could differ.
   */
  attributionDays?: number;
}

/** A lake file and the start (ms) of the hour partition it belongs to. */
export interface LakeFile {
  key: string;
  hour: number;
}

const DECISION_COLUMNS = [
  "decision_id", "time", "visitor_key", "slot", "model_version", "feature_names", "candidates", "features", "scores",
  "chosen_block_id", "propensity", "holdout",
];
const EVENT_COLUMNS = ["decision_id", "visitor_key", "type", "value"];
/** Latest instant a Date can show: bounds open-ended windows. */
const MAX_TIME = 8.64e15;

const day = (time: number) => new Date(Math.min(Math.max(time, 0), MAX_TIME)).toISOString().slice(0, 10);

/**
 * Lists the files of `table` whose hour partition overlaps [from, to), in key (= time) order.
 * Starts the R2 listing at the partition of `from`'s day and stops past `to`'s, so only the
 * needed days are listed however old the lake is.
 */
export async function listLakeFiles(bucket: R2Bucket, table: LakeTable, from: number, to: number): Promise<LakeFile[]> {
  const prefix = tablePrefix(table);
  const files: LakeFile[] = [];
  let cursor: string | undefined;
  const startAfter = `${prefix}dt=${day(from)}`; // sorts just before that day's first key
  do {
    const listed = await bucket.list(cursor ? { prefix, cursor } : { prefix, startAfter });
    for (const o of listed.objects) {
      const parsed = parseKey(o.key);
      if (!parsed) continue;
      if (parsed.hour >= to) return files;
      if (parsed.hour + HOUR_MS > from) files.push({ key: o.key, hour: parsed.hour });
    }
    cursor = listed.truncated ? listed.cursor : undefined;
  } while (cursor);
  return files;
}

async function readFile(bucket: R2Bucket, key: string, columns: string[]): Promise<Record<string, unknown>[]> {
  const obj = await bucket.get(key);
  // Listed a moment ago: a missing object means someone deleted lake files under us.
  if (!obj) throw new Error(`lake file ${key} vanished while reading`);
  return decodeLakeFile(await obj.arrayBuffer(), columns);
}

function matches(row: Record<string, unknown>, f: LoggedFilter): boolean {
  const time = row.time as number;
  if (time < f.from || time >= f.to) return false;
  if (f.slot && row.slot !== f.slot) return false;
  if (f.modelVersion && row.model_version !== f.modelVersion) return false;
  return f.includeHoldout || row.holdout !== true;
}

/** (time, decision id) order, as the D1 reader's ORDER BY. */
function byTimeThenId(a: Record<string, unknown>, b: Record<string, unknown>): number {
  const dt = (a.time as number) - (b.time as number);
  if (dt !== 0) return dt;
  const x = a.decision_id as string;
  const y = b.decision_id as string;
  return x < y ? -1 : x > y ? 1 : 0;
}

function toLogged(r: Record<string, unknown>): LoggedDecision {
  // The lake holds the float32 values widened (schema.ts); readers get them as the audit log writes them.
  const short = float32Shortener();
  const features = (r.features as (number | null)[][]).map((row) => float32Row(row, short));
  const scores = float32Row(r.scores as (number | null)[], short);
  return {
    decisionId: r.decision_id as string,
    time: r.time as number,
    visitorKey: r.visitor_key as string,
    slot: r.slot as string,
    modelVersion: (r.model_version as string | null) ?? null,
    featureNames: r.feature_names as string[],
    candidates: (r.candidates as string[]).map((blockId, i) => ({ blockId, features: (features[i] ?? []) as number[], score: scores[i] ?? null })),
    chosenBlockId: r.chosen_block_id as string,
    propensity: (r.propensity as number | null) ?? null,
    holdout: r.holdout === true,
    outcomes: { impression: 0, click: 0, conversion: 0, value: 0 },
  };
}

/**
 * Attributes events to a batch of decisions: events carrying the decision's id *and* coming
 * from the same visitor (as the D1 reader), flags per type, conversion values summed.
 */
async function attachOutcomes(bucket: R2Bucket, batch: LoggedDecision[], attributionDays: number): Promise<void> {
  const byId = new Map(batch.map((d) => [d.decisionId, d]));
  const from = batch[0]!.time - DAY_MS;
  const to = batch[batch.length - 1]!.time + HOUR_MS + attributionDays * DAY_MS;
  for (const file of await listLakeFiles(bucket, "events", from, to)) {
    for (const e of await readFile(bucket, file.key, EVENT_COLUMNS)) {
      const d = byId.get(e.decision_id as string);
      if (!d || d.visitorKey !== e.visitor_key) continue;
      if (e.type === "impression") d.outcomes.impression = 1;
      else if (e.type === "click") d.outcomes.click = 1;
      else if (e.type === "conversion") {
        d.outcomes.conversion = 1;
        d.outcomes.value += (e.value as number | null) ?? 0;
      }
    }
  }
}

/**
 * Every logged decision of the filter, oldest first (time, then decision id), with outcomes, a
 * page at a time. Reads only what the lake has: flush first (catchUpLake) for rows just logged.
 */
export async function* lakeLoggedDecisions(bucket: R2Bucket, f: LoggedFilter, opts: LakeReadOptions = {}): AsyncGenerator<LoggedDecision[]> {
  const pageSize = opts.pageSize ?? 200;
  const batchRows = opts.batchRows ?? 5000;
  const attributionDays = opts.attributionDays ?? 30;
  const files = await listLakeFiles(bucket, "decisions", f.from, f.to);
  let batch: LoggedDecision[] = [];
  async function* drain(): AsyncGenerator<LoggedDecision[]> {
    if (batch.length === 0) return;
    await attachOutcomes(bucket, batch, attributionDays);
    for (let i = 0; i < batch.length; i += pageSize) yield batch.slice(i, i + pageSize);
    batch = [];
  }
  for (let i = 0; i < files.length; ) {
    // One hour partition (possibly several files), sorted as a whole: hours never interleave.
    const hour = files[i]!.hour;
    const rows: Record<string, unknown>[] = [];
    for (; i < files.length && files[i]!.hour === hour; i++) {
      for (const row of await readFile(bucket, files[i]!.key, DECISION_COLUMNS)) if (matches(row, f)) rows.push(row);
    }
    rows.sort(byTimeThenId);
    for (const row of rows) batch.push(toLogged(row));
    if (batch.length >= batchRows) yield* drain();
  }
  yield* drain();
}
