/**
 * Wiring of the log pipeline to the bindings: the producer the request services use, and the
 * `queue()` handler's dispatch to the log consumer and the dead-letter consumer.
 */
import { feedbackStatements } from "../activation/feedback.ts";
import { adaptiveId } from "../adaptive/model.ts";
import { learnAdaptiveQuietly } from "../adaptive/store.ts";
import { driftBinnings } from "../aggregates/drift-bins.ts";
import { aggregateStatements } from "../aggregates/statements.ts";
import { lakeFlushDue, lakeFlushIntervalMs, type FlushCadence } from "../lake/cadence.ts";
import { flushLake } from "../lake/flush.ts";
import { consumeLog, type ConsumerDeps } from "./consume.ts";
import { consumeDeadLetters } from "./dead-letters.ts";
import { queueLogProducer, type LogProducer } from "./producer.ts";

/** Queue names, as in wrangler.toml. */
export const LOG_QUEUE_NAME = "nextbest-log";
export const DEAD_LETTER_QUEUE_NAME = "nextbest-log-dlq";

/** The producer of a request (records go to LOG_QUEUE; counters to D1). */
export function logProducer(env: Pick<Env, "LOG_QUEUE" | "DB">, now: () => number = Date.now): LogProducer {
  return queueLogProducer(env.LOG_QUEUE, env.DB, { now });
}

/**
 * The log consumer's dependencies: `extraStatements` folds the batch into the aggregates
 * (worker/aggregates/statements.ts) inside the batch's own transaction, so a redelivered batch
 * changes neither the raw rows nor the aggregates; `afterCommit` writes what was committed to the
 * Parquet lake (worker/lake/flush.ts, exactly once through its ledger) when a file's worth of rows
 * or LAKE_FLUSH_SECONDS has gone by (worker/lake/cadence.ts). A failed flush is counted, not
 * retried: the rows are safe in D1 and the cron catches the lake up.
 */
export function consumerDeps(env: Env, now: () => number = Date.now, cadence: FlushCadence = isolateCadence): ConsumerDeps {
  const intervalMs = lakeFlushIntervalMs(env.LAKE_FLUSH_SECONDS);
  return { db: env.DB, deadLetters: env.DEAD_LETTERS, now,
    // Drift histograms bin by each model's manifest baseline (cached per isolate); channel feedback
    // on outbound actions folds in the same transaction (worker/activation/feedback.ts).
    extraStatements: async (db, ids) => [...aggregateStatements(db, { ...ids, binnings: await driftBinnings(db, ids.decisions) }), ...feedbackStatements(db, ids.eventIds)],
    afterCommit: async ({ now, rows }) => {
      if (!lakeFlushDue(cadence, rows, now, intervalMs)) return;
      // On the same cadence the adaptive model learns from the committed log (its labels wait
      // ten minutes anyway; worker/adaptive/store.ts; never throws), then the lake is written.
      await learnAdaptiveQuietly(env.DB, await adaptiveId(), now);
      await flushLake(env.DB, env.LAKE, { now });
    },
  };
}

/** The lake cadence of this isolate's consumer. */
const isolateCadence: FlushCadence = { rowsSince: 0, lastFlushAt: 0 };

/** The Worker's `queue()` handler. */
export async function handleQueue(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  if (batch.queue === DEAD_LETTER_QUEUE_NAME) return consumeDeadLetters(batch, { db: env.DB, now: Date.now });
  if (batch.queue === LOG_QUEUE_NAME) {
    await consumeLog(batch, consumerDeps(env));
    return;
  }
  console.error(`pipeline: no consumer for queue ${batch.queue}; retrying`);
  batch.retryAll();
}
