import { env } from "cloudflare:workers";
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import worker from "../../worker/index.ts";
import { LAKE_FLUSH_CRON, lakeFlushDue, lakeFlushIntervalMs, type FlushCadence } from "../../worker/lake/cadence.ts";
import { lakeBacklog } from "../../worker/lake/flush.ts";
import { consumerDeps } from "../../worker/pipeline/wire.ts";
import { auditRecord, writeAudit } from "./audit-fixtures.ts";
import { lakeKeys, resetLake } from "./lake-fixtures.ts";

const MINUTE = 60_000;
const T0 = Date.UTC(2026, 10, 30, 9, 0, 0);

describe("when the consumer flushes the lake", () => {
  it.each([
    { case: "the isolate's first batch", cadence: { rowsSince: 0, lastFlushAt: 0 }, rows: 3, now: T0, due: true },
    { case: "a small batch soon after a flush", cadence: { rowsSince: 10, lastFlushAt: T0 }, rows: 30, now: T0 + 5_000, due: false },
    { case: "a file's worth of rows", cadence: { rowsSince: 990, lastFlushAt: T0 }, rows: 10, now: T0 + 5_000, due: true },
    { case: "the interval gone by", cadence: { rowsSince: 1, lastFlushAt: T0 }, rows: 1, now: T0 + MINUTE, due: true },
    { case: "just inside the interval", cadence: { rowsSince: 1, lastFlushAt: T0 }, rows: 1, now: T0 + MINUTE - 1, due: false },
  ])("$case: due $due", ({ cadence, rows, now, due }) => {
    const state: FlushCadence = { ...cadence };
    expect(lakeFlushDue(state, rows, now, MINUTE)).toBe(due);
    // A flush starts the count again; otherwise the rows are remembered.
    expect(state).toEqual(due ? { rowsSince: 0, lastFlushAt: now } : { rowsSince: cadence.rowsSince + rows, lastFlushAt: cadence.lastFlushAt });
  });

  it.each([
    { value: undefined, ms: 60_000 },
    { value: "", ms: 60_000 },
    { value: "0", ms: 0 },
    { value: "15", ms: 15_000 },
    { value: "-3", ms: 60_000 },
    { value: "soon", ms: 60_000 },
  ])("LAKE_FLUSH_SECONDS $value → $ms ms", ({ value, ms }) => {
    expect(lakeFlushIntervalMs(value)).toBe(ms);
  });
});

describe("the lake through the consumer and the cron", () => {
  beforeEach(resetLake);

  async function seed(n: number, prefix: string) {
    const records = [];
    for (let i = 0; i < n; i++) records.push(await auditRecord({ decisionId: `${prefix}-${i}`, visitorId: `${prefix}-v`, time: T0 + i }));
    await writeAudit(records);
  }

  it("a batch inside the interval leaves its rows to the next flush; the five-minute cron writes them", async () => {
    await seed(4, "cad");
    const cadence: FlushCadence = { rowsSince: 0, lastFlushAt: T0 };
    await consumerDeps(env, () => T0 + 1_000, cadence).afterCommit!({ now: T0 + 1_000, rows: 4 });
    expect(await lakeKeys()).toEqual([]);
    expect((await lakeBacklog(env.DB)).decisions).toBe(4);

    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ scheduledTime: T0 + 5 * MINUTE, cron: LAKE_FLUSH_CRON }), env, ctx);
    await waitOnExecutionContext(ctx);
    expect((await lakeKeys()).filter((k) => k.startsWith("lake/decisions/"))).toHaveLength(1);
    expect((await lakeBacklog(env.DB)).decisions).toBe(0);
  });

  it("a batch after the interval flushes at once", async () => {
    await seed(2, "cad-late");
    const cadence: FlushCadence = { rowsSince: 0, lastFlushAt: T0 };
    await consumerDeps(env, () => T0 + MINUTE, cadence).afterCommit!({ now: T0 + MINUTE, rows: 2 });
    expect((await lakeKeys()).filter((k) => k.startsWith("lake/decisions/"))).toHaveLength(1);
    expect(cadence).toEqual({ rowsSince: 0, lastFlushAt: T0 + MINUTE });
  });
});
