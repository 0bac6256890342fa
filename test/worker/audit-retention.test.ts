import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../worker/index.ts";
import { foldPending } from "../../worker/aggregates/statements.ts";
import { flushLake } from "../../worker/lake/flush.ts";
import { pruneLake } from "../../worker/lake/prune.ts";
import { DEFAULT_D1_WINDOW_DAYS, DEFAULT_RETENTION_DAYS, d1WindowDays, purgeBefore, retentionCutoff, retentionDays } from "../../worker/retention/retention.ts";
import { auditRecord, insertEvent, writeAudit } from "./audit-fixtures.ts";

const DAY = 86_400_000;
// Far older than every other test's rows, so purging here never touches them.
const CUTOFF = 1_500_000_000_000;

async function countIds(table: "decisions" | "events", prefix: string): Promise<number> {
  const column = table === "decisions" ? "decision_id" : "id";
  return (await env.DB.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE ${column} LIKE ?`).bind(`${prefix}%`).first<number>("n"))!;
}

describe("retention", () => {
  it.each([
    { value: undefined, days: DEFAULT_RETENTION_DAYS },
    { value: "", days: DEFAULT_RETENTION_DAYS },
    { value: "30", days: 30 },
    { value: "0.5", days: 0.5 },
    { value: "0", days: DEFAULT_RETENTION_DAYS },
    { value: "-3", days: DEFAULT_RETENTION_DAYS },
    { value: "ninety", days: DEFAULT_RETENTION_DAYS },
  ])("RETENTION_DAYS=$value → $days days", ({ value, days }) => {
    expect(retentionDays(value)).toBe(days);
  });

  it.each([
    { value: undefined, retention: 90, days: DEFAULT_D1_WINDOW_DAYS },
    { value: "2", retention: 90, days: 2 },
    { value: "0", retention: 90, days: DEFAULT_D1_WINDOW_DAYS },
    { value: "30", retention: 10, days: 10 },
  ])("D1_WINDOW_DAYS=$value with RETENTION_DAYS $retention → $days days in D1", ({ value, retention, days }) => {
    expect(d1WindowDays(value, retention)).toBe(days);
  });

  it("the cron trigger folds, flushes, then deletes D1 rows older than D1_WINDOW_DAYS (7) and keeps the rest", async () => {
    const old = await Promise.all([1, 2, 3].map((i) => auditRecord({ decisionId: `ret-old-${i}`, time: CUTOFF - i })));
    const kept = await Promise.all([0, 1].map((i) => auditRecord({ decisionId: `ret-new-${i}`, time: CUTOFF + i })));
    await writeAudit([...old, ...kept]);
    for (let i = 1; i <= 4; i++) await insertEvent({ id: `ret-old-${i}`, time: CUTOFF - i * 1000, type: "click", visitorId: "ret" });
    await insertEvent({ id: "ret-new-0", time: CUTOFF, type: "click", visitorId: "ret" });

    // The scheduled handler of the Worker, run as the cron trigger would run it.
    const controller = createScheduledController({ scheduledTime: CUTOFF + 7 * DAY, cron: "17 3 * * *" });
    const ctx = createExecutionContext();
    await worker.scheduled(controller, env, ctx);
    await waitOnExecutionContext(ctx);

    expect(await countIds("decisions", "ret-old-")).toBe(0);
    expect(await countIds("decisions", "ret-new-")).toBe(2);
    expect(await countIds("events", "ret-old-")).toBe(0);
    expect(await countIds("events", "ret-new-")).toBe(1);
  });

  it("never deletes a row the aggregates have not folded", async () => {
    const t = CUTOFF - 30 * DAY;
    await writeAudit([await auditRecord({ decisionId: "ret-unfolded-0", time: t })]);
    await flushLake(env.DB, env.LAKE, { now: t + 1, maxFiles: 1000 });
    await env.DB.prepare("UPDATE decisions SET agg_applied = 0 WHERE decision_id = 'ret-unfolded-0'").run();
    expect(await purgeBefore(env.DB, t + 10)).toMatchObject({ decisions: 0 });
    await env.DB.prepare("UPDATE decisions SET agg_applied = 1 WHERE decision_id = 'ret-unfolded-0'").run();
    expect(await purgeBefore(env.DB, t + 10)).toMatchObject({ decisions: 1 });
  });

  it("deletes lake files whose hour ended before RETENTION_DAYS, with their ledger rows, and keeps the rest", async () => {
    const hour = 3_600_000;
    const old = CUTOFF - 200 * DAY;
    const files = [
      { key: "lake/decisions/dt=old/hour=00/a.parquet", hour: old, written: 1 },
      { key: "lake/events/dt=old/hour=01/b.parquet", hour: old + hour, written: 1 },
      { key: "lake/decisions/dt=old/hour=02/unwritten.parquet", hour: old + 2 * hour, written: null },
      { key: "lake/decisions/dt=new/hour=00/c.parquet", hour: old + 2 * hour, written: 1 },
    ];
    for (const f of files) {
      await env.LAKE.put(f.key, "x");
      await env.DB.prepare("INSERT INTO lake_files (key, tbl, hour, rows, claimed_at, written_at) VALUES (?, ?, ?, 3, 0, ?)")
        .bind(f.key, f.key.split("/")[1], f.hour, f.written).run();
    }
    // The cutoff falls at the end of the second hour: the third hour's files stay.
    const first = await pruneLake(env.DB, env.LAKE, old + 2 * hour, 1);
    expect(first).toEqual({ files: 1, rows: 3, more: true });
    const second = await pruneLake(env.DB, env.LAKE, old + 2 * hour, 1);
    expect(second).toEqual({ files: 1, rows: 3, more: false });
    for (const f of files) {
      const gone = f.hour + hour <= old + 2 * hour && f.written;
      expect(await env.LAKE.head(f.key) === null).toBe(Boolean(gone));
      expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM lake_files WHERE key = ?").bind(f.key).first("n")).toBe(gone ? 0 : 1);
    }
    await env.DB.prepare("DELETE FROM lake_files WHERE key LIKE '%/dt=old/%' OR key LIKE '%/dt=new/%'").run();
    for (const f of files) await env.LAKE.delete(f.key);
  });

  it("never deletes a row the lake has not written: claimed rows whose file failed stay", async () => {
    const t = CUTOFF - 20 * DAY;
    await writeAudit(await Promise.all([0, 1, 2].map((i) => auditRecord({ decisionId: `ret-lake-${i}`, time: t + i }))));
    // Claimed for a file whose put never happened (a crash between claim and write).
    await env.DB.batch([
      env.DB.prepare("INSERT INTO lake_files (key, tbl, hour, claimed_at) VALUES ('lake/decisions/dt=x/hour=00/crashed.parquet', 'decisions', 0, 0)"),
      env.DB.prepare("UPDATE decisions SET lake_file = 'lake/decisions/dt=x/hour=00/crashed.parquet' WHERE decision_id = 'ret-lake-0'"),
    ]);
    const unflushed = await purgeBefore(env.DB, t + 10, 2);
    expect(unflushed.decisions).toBe(0);
    expect(await countIds("decisions", "ret-lake-")).toBe(3);
    await env.DB.batch([env.DB.prepare("DELETE FROM decisions WHERE decision_id LIKE 'ret-lake-%'"), env.DB.prepare("DELETE FROM lake_files WHERE key LIKE '%/crashed.parquet'")]);
  });

  it("deletes in bounded chunks until nothing old is left", async () => {
    const cutoff = CUTOFF - 10 * DAY;
    await writeAudit(await Promise.all(Array.from({ length: 7 }, (_, i) => auditRecord({ decisionId: `ret-chunk-${i}`, time: cutoff - 1 - i }))));
    // Not in the lake yet: nothing is deleted.
    expect(await purgeBefore(env.DB, cutoff, 2)).toMatchObject({ cutoff, decisions: 0 });
    expect(await countIds("decisions", "ret-chunk-")).toBe(7);
    await flushLake(env.DB, env.LAKE, { now: cutoff, maxFiles: 1000 });
    await foldPending(env.DB);
    const result = await purgeBefore(env.DB, cutoff, 2);
    expect(result).toMatchObject({ cutoff, decisions: 7 });
    expect(await countIds("decisions", "ret-chunk-")).toBe(0);
    expect(retentionCutoff(cutoff + DAY, 1)).toBe(cutoff);
  });
});
