/**
 * The consumer of the log queue. Per message batch:
 * 1. messages that fail the schema go to the dead-letter queue with their error and are acked,
 *    so they never hold up the others;
 * 2. the records of all valid messages are written in ONE `db.batch` (one SQLite transaction):
 *    `INSERT OR IGNORE` into `decisions` and `events` and the statements `deps.extraStatements`
 *    returns (the aggregates), so a batch is stored whole or not at all and a redelivered batch
 *    inserts nothing twice; the pipeline counters follow in a small write of their own;
 * 3. if that write fails, the valid messages are retried (bounded by `max_retries` in
 *    wrangler.toml, after which Queues moves them to the dead-letter queue);
 * 4. once it has committed the messages are acked and `deps.afterCommit` runs (the lake). Its
 *    failure is logged and counted, not retried here: the rows are safely in D1 and the lake's
 *    own ledger lets the cron trigger catch up.
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

/** Multi-row `INSERT OR IGNORE` statements, as many rows each as the parameter limit allows. */
function inserts<R>(db: D1Database, table: string, columns: readonly string[], values: (r: R) => unknown[], records: R[]): D1PreparedStatement[] {
  const perStatement = Math.max(1, Math.floor(MAX_PARAMS / columns.length));
  const row = `(${columns.map(() => "?").join(", ")})`;
  const prepared = new Map<number, D1PreparedStatement>();
  const out: D1PreparedStatement[] = [];
  for (let i = 0; i < records.length; i += perStatement) {
    const chunk = records.slice(i, i + perStatement);
    let stmt = prepared.get(chunk.length);
    if (!stmt) {
      stmt = db.prepare(`INSERT OR IGNORE INTO ${table} (${columns.join(", ")}) VALUES ${Array(chunk.length).fill(row).join(", ")}`);
      prepared.set(chunk.length, stmt);
    }
    out.push(stmt.bind(...chunk.flatMap(values)));
  }
  return out;
}

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** Consumes one batch of the log queue (see the module comment). Never throws. */
export async function consumeLog(batch: MessageBatch<unknown>, deps: ConsumerDeps): Promise<ConsumeResult> {
  const decisions: AuditRecord[] = [];
  const events: StoredEvent[] = [];
  const valid: Message<unknown>[] = [];
  let deadLettered = 0;

  for (const message of batch.messages) {
    const body = decodeLogBody(message.body);
    const parsed = logMessageSchema.safeParse(body);
    if (parsed.success) {
      valid.push(message);
      const log = parsed.data as LogMessage;
      if (log.kind === "decisions") decisions.push(...log.records);
      else events.push(...log.records);
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
  const decisionInserts = inserts(db, "decisions", decisionColumns, decisionValues, decisions);
  const eventInserts = inserts(db, "events", EVENT_COLUMNS, eventValues, events);
  let results: D1Result[];
  try {
    const extra = (await deps.extraStatements?.(db, { decisionIds: decisions.map((d) => d.decisionId), eventIds: events.map((e) => e.id), decisions })) ?? [];
    results = await db.batch([...decisionInserts, ...eventInserts, ...extra]);
  } catch (err) {
    console.error(`pipeline: writing a batch of ${valid.length} message(s) failed, retrying:`, errorText(err));
    for (const message of valid) message.retry();
    await db.batch(addStats(db, { write_failures: 1 }, now, errorText(err))).catch(() => undefined);
    return { written: 0, deadLettered, retried: batch.messages.length - deadLettered };
  }
  for (const message of valid) message.ack();

  // Rows that were new (a redelivered batch inserts none), counted after the commit: a crash
  // right here loses one batch's counts, never doubles them.
  const changed = (from: number, to: number) => results.slice(from, to).reduce((n, r) => n + (r.meta.changes ?? 0), 0);
  const decisionsStored = changed(0, decisionInserts.length);
  const eventsStored = changed(decisionInserts.length, decisionInserts.length + eventInserts.length);
  // Records already stored (an event resent by a client, a redelivered batch): accounted for, so
  // the backlog estimate of GET /admin/pipeline returns to zero.
  const stored = { decisions_stored: decisionsStored, events_stored: eventsStored, decisions_duplicates: decisions.length - decisionsStored, events_duplicates: events.length - eventsStored, batches: 1 };
  await db.batch([...addStats(db, stored, now), maxStat(db, "last_batch_at", now)]).catch((err) => console.error("pipeline: writing batch counts failed:", errorText(err)));

  if (deps.afterCommit) {
    try {
      await deps.afterCommit({ now, rows: decisions.length + events.length });
    } catch (err) {
      console.error("pipeline: after-commit step failed (the cron trigger catches up):", errorText(err));
      await db.batch(addStats(db, { after_commit_failures: 1 }, now, errorText(err))).catch(() => undefined);
    }
  }
  return { written: decisions.length + events.length, deadLettered, retried: batch.messages.length - deadLettered - valid.length };
}
