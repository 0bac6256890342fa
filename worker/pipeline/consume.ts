/**
 * The consumer of the log queue. Per message batch:
 * 1. messages that fail the schema go to the dead-letter queue with their error and are acked,
 *    so they never hold up the others;
 * 2. the records of the valid messages are written in one `db.batch` (one SQLite transaction) per
 *    chunk of whole messages (`chunkMessages`: at most CHUNK_RECORDS records and CHUNK_BYTES of
 *    bodies — a small batch in one, a full batch of 50-candidate decisions in about six):
 *    `INSERT OR IGNORE` into `decisions` and `events` (without the records of visitors erased
 *    since they were decided: `notErased`) and the statements
 *    `deps.extraStatements` returns (the aggregates), so a message is stored whole or not at all
 *    and a redelivered one inserts and folds nothing twice; a committed chunk's messages are
 *    acked; the pipeline counters follow in a small write of their own;
 * 3. if a chunk's write fails, its messages are retried (bounded by `max_retries` in wrangler.toml,
 *    after which Queues moves them to the dead-letter queue) and the other chunks go on;
 * 4. once chunks have committed `deps.afterCommit` runs (the lake). Its failure is logged and
 *    counted, not retried here: the rows are safely in D1 and the lake's own ledger lets the
 *    cron trigger catch up.
 */
import { decisionColumns, decisionValues } from "../audit/d1.ts";
import type { AuditRecord } from "../audit/record.ts";
import type { StoredEvent } from "../events/schema.ts";
import { bodyText, decodeLogBody, logMessageSchema, recordCount, type LogMessage } from "./messages.ts";
import { addStats, maxStat } from "./stats.ts";

/** What the extra statements of a batch are about: the ids written by it, and its decisions. */
export interface BatchIds {
  decisionIds: string[];
  eventIds: string[];
  decisions: AuditRecord[];
}

/** What the consumer writes with, and the two seams other parts plug into. */
export interface ConsumerDeps {
  db: D1Database;
  /** Producer binding of the dead-letter queue. */
  deadLetters: Pick<Queue, "send">;
  now: () => number;
  /** Statements appended to the batch's transaction (the aggregates). */
  extraStatements?: (db: D1Database, ids: BatchIds) => D1PreparedStatement[] | Promise<D1PreparedStatement[]>;
  /** Runs after the batch has committed (the lake). */
  afterCommit?: (info: { now: number; rows: number }) => Promise<void>;
}

/** What one call did, for logs and tests. */
export interface ConsumeResult {
  written: number;
  deadLettered: number;
  retried: number;
}

/** A dead letter sent by the consumer: the refused body with the reason. */
export interface DeadLetter {
  v: 1;
  kind: "dead-letter";
  sourceId: string;
  attempts: number;
  error: string;
  /** The refused body as JSON, cut at `DEAD_LETTER_BODY_CHARS`. */
  body: string;
  records: number;
}

/** A dead letter keeps at most this much of the body (well under the 128 KB message limit). */
export const DEAD_LETTER_BODY_CHARS = 64_000;

const EVENT_COLUMNS = ["id", "time", "type", "name", "decision_id", "visitor_key", "block_id", "slot", "value", "currency"];
const eventValues = (e: StoredEvent): unknown[] => [e.id, e.time, e.type, e.name, e.decisionId, e.visitorKey, e.blockId, e.slot, e.value, e.currency];

/** D1 binds at most 100 parameters per statement: rows per multi-row INSERT. */
const MAX_PARAMS = 100;

/**
 * Rows of a visitor erased after they were decided are not inserted: the erasure (worker/erasure/
 * erase.ts) records `(visitor_key, tbl, requested_at)` in `lake_erasures` before it deletes, and
 * the insert tests it in the same transaction, so a record still in the queue (or in an isolate's
 * outbox) when its visitor was erased never lands, whichever of the two commits first. A record
 * decided after the erasure (the visitor came back and consented) is kept. `v.columnN` is the
 * N-th value of a row of the VALUES list (https://sqlite.org/lang_select.html#values).
 */
const notErased = (table: string, columns: readonly string[]) => {
  const at = (name: string) => `v.column${columns.indexOf(name) + 1}`;
  return `WHERE NOT EXISTS (SELECT 1 FROM lake_erasures x WHERE x.visitor_key = ${at("visitor_key")} AND x.tbl = '${table}' AND x.requested_at >= ${at("time")})`;
};

/**
 * Multi-row `INSERT OR IGNORE` statements, as many rows each as the parameter limit allows,
 * skipping the rows of erased visitors (`notErased`).
 */
function inserts<R>(db: D1Database, table: "decisions" | "events", columns: readonly string[], values: (r: R) => unknown[], records: R[]): D1PreparedStatement[] {
  const perStatement = Math.max(1, Math.floor(MAX_PARAMS / columns.length));
  const row = `(${columns.map(() => "?").join(", ")})`;
  const prepared = new Map<number, D1PreparedStatement>();
  const out: D1PreparedStatement[] = [];
  for (let i = 0; i < records.length; i += perStatement) {
    const chunk = records.slice(i, i + perStatement);
    let stmt = prepared.get(chunk.length);
    if (!stmt) {
      const rows = Array(chunk.length).fill(row).join(", ");
      stmt = db.prepare(`INSERT OR IGNORE INTO ${table} (${columns.join(", ")}) SELECT * FROM (VALUES ${rows}) AS v ${notErased(table, columns)}`);
      prepared.set(chunk.length, stmt);
    }
    out.push(stmt.bind(...chunk.flatMap(values)));
  }
  return out;
}

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** A message that passed the schema, with its body's size (characters of its JSON text). */
interface ValidMessage {
  message: Message<unknown>;
  log: LogMessage;
  bytes: number;
}

/**
 * Most records and body characters one transaction takes. Producers fill messages up to 120 KB
 * (MAX_MESSAGE_BYTES in worker/pipeline/messages.ts; worker/pipeline/outbox.ts), so a batch of 100 messages can hold ~2,100 decisions of 50
 * candidates (12 MB; ~3,500 in the bench's mix of hero and sidebar decisions) or ~40,000
 * events. In one transaction that was too much for D1: the aggregates bind a batch's ids and
 * drift rows as JSON strings, and D1 refuses a string over 2,000,000 bytes (SQLITE_TOOBIG;
 * https://developers.cloudflare.com/d1/platform/limits/), so the whole batch was retried until
 * it was dead-lettered. The drift rows' JSON is also split per
 * statement (worker/aggregates/drift-fold.ts jsonPieces); these limits keep each transaction and
 * its id lists small.
 */
export const CHUNK_RECORDS = 2_000;
export const CHUNK_BYTES = 2_000_000;

/**
 * The valid messages in order, in chunks of whole messages of at most CHUNK_RECORDS records and
 * CHUNK_BYTES (a message larger than that alone is a chunk of its own).
 */
export function chunkMessages<M extends { log: LogMessage; bytes: number }>(messages: M[]): M[][] {
  const chunks: M[][] = [];
  let current: M[] = [];
  let records = 0;
  let bytes = 0;
  for (const m of messages) {
    const n = m.log.records.length;
    if (current.length && (records + n > CHUNK_RECORDS || bytes + m.bytes > CHUNK_BYTES)) {
      chunks.push(current);
      current = [];
      records = 0;
      bytes = 0;
    }
    current.push(m);
    records += n;
    bytes += m.bytes;
  }
  if (current.length) chunks.push(current);
  return chunks;
}

/** Consumes one batch of the log queue (see the module comment). Never throws. */
export async function consumeLog(batch: MessageBatch<unknown>, deps: ConsumerDeps): Promise<ConsumeResult> {
  const valid: ValidMessage[] = [];
  let deadLettered = 0;

  for (const message of batch.messages) {
    const body = decodeLogBody(message.body);
    const parsed = logMessageSchema.safeParse(body);
    if (parsed.success) {
      valid.push({ message, log: parsed.data as LogMessage, bytes: typeof message.body === "string" ? message.body.length : bodyText(message.body).length });
      continue;
    }
    const issue = parsed.error.issues[0];
    const letter: DeadLetter = {
      v: 1,
      kind: "dead-letter",
      sourceId: message.id,
      attempts: message.attempts,
      error: `schema: ${issue ? `${issue.path.join(".") || "body"}: ${issue.message}` : "invalid"} (${parsed.error.issues.length} issue(s))`,
      body: bodyText(message.body).slice(0, DEAD_LETTER_BODY_CHARS),
      records: recordCount(body),
    };
    try {
      await deps.deadLetters.send(letter, { contentType: "json" });
      message.ack();
      deadLettered++;
    } catch (err) {
      // Left to redelivery; after max_retries Queues dead-letters it itself.
      console.error("pipeline: sending a dead letter failed:", errorText(err));
      message.retry();
    }
  }
  if (!valid.length) return { written: 0, deadLettered, retried: batch.messages.length - deadLettered };

  const now = deps.now();
  const { db } = deps;
  // What the committed chunks stored: new rows, and records already stored (an event resent by a
  // client, a redelivered batch) or dropped as their visitor was erased — accounted for, so the
  // backlog estimate of GET /admin/pipeline returns to zero.
  const stored = { decisions_stored: 0, events_stored: 0, decisions_duplicates: 0, events_duplicates: 0 };
  let written = 0;
  let retried = 0;
  let failure: string | undefined;
  for (const chunk of chunkMessages(valid)) {
    const decisions = chunk.flatMap((v) => (v.log.kind === "decisions" ? v.log.records : []));
    const events = chunk.flatMap((v) => (v.log.kind === "events" ? v.log.records : []));
    const decisionInserts = inserts(db, "decisions", decisionColumns, decisionValues, decisions);
    const eventInserts = inserts(db, "events", EVENT_COLUMNS, eventValues, events);
    let results: D1Result[];
    try {
      const extra = (await deps.extraStatements?.(db, { decisionIds: decisions.map((d) => d.decisionId), eventIds: events.map((e) => e.id), decisions })) ?? [];
      results = await db.batch([...decisionInserts, ...eventInserts, ...extra]);
    } catch (err) {
      // This chunk's messages come back; the other chunks go on (each is its own transaction, and
      // the aggregates do not depend on the order chunks are folded in).
      failure = errorText(err);
      console.error(`pipeline: writing ${chunk.length} of ${valid.length} message(s) failed, retrying them:`, failure);
      for (const v of chunk) v.message.retry();
      retried += chunk.length;
      continue;
    }
    for (const v of chunk) v.message.ack();
    // Rows that were new (a redelivered batch inserts none), counted after the commit: a crash
    // before the counts are written loses them, never doubles them.
    const changed = (from: number, to: number) => results.slice(from, to).reduce((n, r) => n + (r.meta.changes ?? 0), 0);
    const decisionsStored = changed(0, decisionInserts.length);
    const eventsStored = changed(decisionInserts.length, decisionInserts.length + eventInserts.length);
    stored.decisions_stored += decisionsStored;
    stored.events_stored += eventsStored;
    stored.decisions_duplicates += decisions.length - decisionsStored;
    stored.events_duplicates += events.length - eventsStored;
    written += decisions.length + events.length;
  }
  // A batch that committed anything counts as a batch (GET /admin/pipeline's last batch time).
  const committed = written ? [maxStat(db, "last_batch_at", now)] : [];
  const failed = failure === undefined ? [] : addStats(db, { write_failures: 1 }, now, failure);
  const statements = [...addStats(db, { ...stored, batches: written ? 1 : 0 }, now), ...committed, ...failed];
  if (statements.length) await db.batch(statements).catch((err) => console.error("pipeline: writing batch counts failed:", errorText(err)));
  if (!written) return { written: 0, deadLettered, retried: batch.messages.length - deadLettered };

  if (deps.afterCommit) {
    try {
      await deps.afterCommit({ now, rows: written });
    } catch (err) {
      console.error("pipeline: after-commit step failed (the cron trigger catches up):", errorText(err));
      await db.batch(addStats(db, { after_commit_failures: 1 }, now, errorText(err))).catch(() => undefined);
    }
  }
  return { written, deadLettered, retried: retried + batch.messages.length - deadLettered - valid.length };
}
