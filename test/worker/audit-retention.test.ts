import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../worker/index.ts";
import { flushLake } from "../../worker/lake/flush.ts";
import { DEFAULT_RETENTION_DAYS, purgeBefore, retentionCutoff, retentionDays } from "../../worker/retention/retention.ts";
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

  it("the cron trigger deletes audit rows and events older than RETENTION_DAYS (90) and keeps the rest", async () => {
    const old = await Promise.all([1, 2, 3].map((i) => auditRecord({ decisionId: `ret-old-${i}`, time: CUTOFF - i })));
    const kept = await Promise.all([0, 1].map((i) => auditRecord({ decisionId: `ret-new-${i}`, time: CUTOFF + i })));
    await writeAudit([...old, ...kept]);
    for (let i = 1; i <= 4; i++) await insertEvent({ id: `ret-old-${i}`, time: CUTOFF - i * 1000, type: "click", visitorId: "ret" });
    await insertEvent({ id: "ret-new-0", time: CUTOFF, type: "click", visitorId: "ret" });

    // The scheduled handler of the Worker, run as the cron trigger would run it.
    const controller = createScheduledController({ scheduledTime: CUTOFF + 90 * DAY, cron: "17 3 * * *" });
    const ctx = createExecutionContext();
    await worker.scheduled(controller, env, ctx);
    await waitOnExecutionContext(ctx);

    expect(await countIds("decisions", "ret-old-")).toBe(0);
    expect(await countIds("decisions", "ret-new-")).toBe(2);
    expect(await countIds("events", "ret-old-")).toBe(0);
    expect(await countIds("events", "ret-new-")).toBe(1);
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
    const result = await purgeBefore(env.DB, cutoff, 2);
    expect(result).toMatchObject({ cutoff, decisions: 7 });
    expect(await countIds("decisions", "ret-chunk-")).toBe(0);
    expect(retentionCutoff(cutoff + DAY, 1)).toBe(cutoff);
  });
});
