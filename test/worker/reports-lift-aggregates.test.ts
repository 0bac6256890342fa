import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { aggregateStatements } from "../../worker/aggregates/statements.ts";
import { DAY_MS } from "../../worker/aggregates/sql.ts";
import { d1AuditSink } from "../../worker/audit/d1.ts";
import { d1EventStore } from "../../worker/events/store.ts";
import { liftData, type LiftFilter } from "../../worker/reports/query.ts";
import { auditRecord } from "./audit-fixtures.ts";
import { batches, makeLog, shuffle } from "./aggregates-data.ts";
import { liftDataFromRawRows } from "./lift-reference.ts";

const DAY0 = Date.UTC(2026, 1, 2); // UTC midnights no other test file writes to
const db = env.DB;

/** Writes and folds records the way the log consumer does, in shuffled batches. */
async function deliver(prefix: string, day0: number, visitors: number, seed: number) {
  const log = await makeLog(prefix, day0, visitors, seed);
  const items = shuffle([...log.decisions.map((r) => ({ kind: "d" as const, r })), ...log.events.map((r) => ({ kind: "e" as const, r }))], seed);
  for (const b of batches(items, 25)) {
    const decisions = b.flatMap((i) => (i.kind === "d" ? [i.r] : []));
    const events = b.flatMap((i) => (i.kind === "e" ? [i.r] : []));
    await d1AuditSink(db).write(decisions);
    await d1EventStore(db).insert(events);
    await db.batch(aggregateStatements(db, { decisionIds: decisions.map((d) => d.decisionId), eventIds: events.map((e) => e.id), decisions }));
  }
  return log;
}

beforeAll(async () => {
  await deliver("liftagg", DAY0, 150, 42);
});

/** Both ways, with revenue compared to rounding (summation order differs). */
async function compare(f: LiftFilter) {
  const a = await liftData(db, f);
  const b = await liftDataFromRawRows(db, f);
  for (const arm of ["treatment", "control"] as const) {
    expect({ ...a[arm], revenue: null }).toEqual({ ...b[arm], revenue: null });
    expect(a[arm].revenue.sum).toBeCloseTo(b[arm].revenue.sum, 6);
    expect(a[arm].revenue.sumSquares).toBeCloseTo(b[arm].revenue.sumSquares, 4);
  }
  expect(a.mixedVisitors).toBe(b.mixedVisitors);
  expect([...a.currencies].sort()).toEqual([...b.currencies].sort());
  return a;
}

describe("the lift report from aggregates equals the raw-row query", () => {
  const all = { from: DAY0, to: DAY0 + 4 * DAY_MS };
  const middle = { from: DAY0 + DAY_MS, to: DAY0 + 2 * DAY_MS };
  it.each([
    { ...all, kpi: "conversion" },
    { ...all, kpi: "conversion", currency: "EUR" },
    { ...all, kpi: "conversion", currency: "USD", slot: "hero" },
    { ...all, kpi: "click" },
    { ...all, kpi: "impression", slot: "sidebar" },
    { ...all, kpi: "signup" },
    { ...all, kpi: "conversion", campaign: "spring" },
    { ...all, kpi: "click", campaign: "bags", modelVersion: "m@aaaaaaaaaaaa" },
    { ...all, kpi: "conversion", modelVersion: "m@bbbbbbbbbbbb", slot: "hero" },
    { ...middle, kpi: "conversion" },
    { ...middle, kpi: "signup", campaign: "spring" },
    { from: DAY0, to: DAY0 + DAY_MS, kpi: "click", slot: "hero" },
  ])("%o", async (f) => {
    const a = await compare(f);
    expect(a.treatment.visitors + a.control.visitors).toBeGreaterThan(0);
  });

  it("has data in every group, mixed visitors and events before exposure (the comparison is not vacuous)", async () => {
    const a = await liftData(db, { ...all, kpi: "conversion" });
    expect(a.treatment.conversions).toBeGreaterThan(10);
    expect(a.control.visitors).toBeGreaterThan(10);
    expect(a.mixedVisitors).toBeGreaterThan(0);
    const c = await liftData(db, { ...all, kpi: "conversion", campaign: "spring" });
    expect(c.control.visitors).toBeGreaterThan(5);
  });

  it("reads rows that grow with visitors and days, not with decisions", async () => {
    const day = DAY0 + 10 * DAY_MS;
    const f = { from: day, to: day + DAY_MS, kpi: "conversion" };
    const visitors = Array.from({ length: 10 }, (_, i) => `rowsread-${i}`);
    const write = async (perVisitor: number, round: number) => {
      const records = [];
      for (const v of visitors) {
        for (let k = 0; k < perVisitor; k++) records.push(await auditRecord({ visitorId: v, decisionId: `rr-${round}-${v}-${k}`, time: day + 1000 * (round * 100 + k) }));
      }
      await d1AuditSink(db).write(records);
      await db.batch(aggregateStatements(db, { decisionIds: records.map((r) => r.decisionId), eventIds: [], decisions: records }));
    };
    await write(2, 0);
    const before = await liftData(db, f);
    const rawBefore = await liftDataFromRawRows(db, f);
    await write(30, 1); // 15 times as many decisions, the same visitors, day, slot and model
    const after = await liftData(db, f);
    const rawAfter = await liftDataFromRawRows(db, f);
    expect(after.treatment.visitors).toBe(10);
    expect(after.rowsRead).toBe(before.rowsRead);
    expect(rawAfter.rowsRead).toBeGreaterThan(rawBefore.rowsRead + 250);
  });
});
