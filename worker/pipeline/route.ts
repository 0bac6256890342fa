import { Hono } from "hono";
import type { AppEnv } from "../services.ts";
import { readDeadLetters } from "./dead-letters.ts";
import { readStats } from "./stats.ts";

/**
 * `GET /admin/pipeline`: health of the log path.
 * - `sent` / `stored`: records the producers queued and the consumer wrote, per kind. Producers
 *   tally per isolate and write their counts at most once a second, so `sent` can trail by a
 *   second of traffic. `duplicates`: records the consumer found already stored (an event a client
 *   resent, a redelivered batch). `backlog` (sent − stored − duplicates − dead-lettered, at least
 *   0) is an estimate.
 * - `lost`: records the queue refused (never queued), with the latest error.
 * - `deadLetters`: how many messages could not be written, and the latest ones with their error.
 * - `lastBatchAt`: when the consumer last committed a batch (ms, null if never).
 */
export const pipelineRoute = new Hono<AppEnv>().get("/", async (c) => {
  const [stat, deadLetters] = await Promise.all([readStats(c.env.DB), readDeadLetters(c.env.DB)]);
  const deadRecords = await c.env.DB.prepare("SELECT kind, SUM(records) AS n FROM dead_letters GROUP BY kind").all<{ kind: string | null; n: number }>();
  const dead = (kind: string) => deadRecords.results.find((r) => r.kind === kind)?.n ?? 0;
  const kinds = ["decisions", "events"] as const;
  const per = (f: (k: (typeof kinds)[number]) => number) => Object.fromEntries(kinds.map((k) => [k, f(k)])) as Record<(typeof kinds)[number], number>;
  const lastBatchAt = stat("last_batch_at").value || null;
  return c.json(
    {
      queue: "nextbest-log",
      sent: per((k) => stat(`${k}_sent`).value),
      stored: per((k) => stat(`${k}_stored`).value),
      duplicates: per((k) => stat(`${k}_duplicates`).value),
      backlog: per((k) => Math.max(0, stat(`${k}_sent`).value - stat(`${k}_stored`).value - stat(`${k}_duplicates`).value - dead(k))),
      lost: { ...per((k) => stat(`${k}_lost`).value), lastError: latestNote(stat("decisions_lost"), stat("events_lost")) },
      deadLetters,
      batches: stat("batches").value,
      lastBatchAt,
      secondsSinceLastBatch: lastBatchAt === null ? null : Math.max(0, Math.round((Date.now() - lastBatchAt) / 1000)),
      writeFailures: { count: stat("write_failures").value, lastError: stat("write_failures").note },
      afterCommitFailures: { count: stat("after_commit_failures").value, lastError: stat("after_commit_failures").note },
    },
    200,
    { "cache-control": "no-store" },
  );
});

function latestNote(...stats: { note: string | null; updatedAt: number }[]): string | null {
  return stats.filter((s) => s.note).sort((a, b) => b.updatedAt - a.updatedAt)[0]?.note ?? null;
}
