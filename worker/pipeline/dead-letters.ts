/**
 * The dead-letter queue's consumer: keeps each dead letter in D1 (`dead_letters`) so that
 * `GET /admin/pipeline` shows how many there are and why. Two kinds arrive: letters the log
 * consumer sent itself (a body that failed the schema, with the error), and log messages Queues
 * moved here after `max_retries` failed deliveries (the original body, no error of their own).
 */
import { z } from "zod";
import { DEAD_LETTER_BODY_CHARS } from "./consume.ts";
import { bodyText, decodeLogBody, recordCount } from "./messages.ts";

const letterSchema = z.object({
  v: z.literal(1),
  kind: z.literal("dead-letter"),
  sourceId: z.string().min(1).max(256),
  attempts: z.number().int().nonnegative(),
  error: z.string(),
  body: z.string(),
  records: z.number().int().nonnegative(),
});

const INSERT = "INSERT OR IGNORE INTO dead_letters (source_id, time, kind, records, attempts, error, body) VALUES (?, ?, ?, ?, ?, ?, ?)";

/** The error recorded for a message Queues dead-lettered after its retries. */
export const RETRIES_EXHAUSTED = "not written after the consumer's retries (max_retries in wrangler.toml); see the Worker's logs for the write error";

function kindOf(body: unknown): string | null {
  const kind = (body as { kind?: unknown } | null)?.kind;
  return typeof kind === "string" ? kind.slice(0, 32) : null;
}

/** Stores one batch of dead letters in one D1 batch; retried as a whole if D1 fails. */
export async function consumeDeadLetters(batch: MessageBatch<unknown>, deps: { db: D1Database; now: () => number }): Promise<void> {
  const insert = deps.db.prepare(INSERT);
  const now = deps.now();
  const statements = batch.messages.map((message) => {
    const letter = letterSchema.safeParse(message.body);
    if (letter.success) {
      const d = letter.data;
      let inner: unknown = null;
      try {
        inner = JSON.parse(d.body);
      } catch {
        // A cut or non-JSON body: kept as text.
      }
      return insert.bind(d.sourceId, now, kindOf(inner), d.records, d.attempts, d.error.slice(0, 2000), d.body);
    }
    // A log message Queues gave up on: its body as the producer sent it (JSON text, or an object).
    const decoded = decodeLogBody(message.body);
    const body = bodyText(message.body).slice(0, DEAD_LETTER_BODY_CHARS);
    return insert.bind(message.id, now, kindOf(decoded), recordCount(decoded), message.attempts, RETRIES_EXHAUSTED, body);
  });
  try {
    await deps.db.batch(statements);
    batch.ackAll();
  } catch (err) {
    console.error("pipeline: storing dead letters failed, retrying:", err instanceof Error ? err.message : err);
    batch.retryAll();
  }
}

/** A stored dead letter, as the admin API lists it (body left out). */
export interface DeadLetterRow {
  sourceId: string;
  time: number;
  kind: string | null;
  records: number;
  attempts: number;
  error: string;
}

/** Number of dead letters and the latest `limit` of them. */
export async function readDeadLetters(db: D1Database, limit = 10): Promise<{ count: number; latest: DeadLetterRow[] }> {
  const [count, latest] = await db.batch([
    db.prepare("SELECT COUNT(*) AS n FROM dead_letters"),
    db.prepare("SELECT source_id AS sourceId, time, kind, records, attempts, error FROM dead_letters ORDER BY time DESC, source_id LIMIT ?").bind(limit),
  ]);
  return { count: (count!.results[0] as { n: number }).n, latest: latest!.results as unknown as DeadLetterRow[] };
}
