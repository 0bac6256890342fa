import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { aggregateStatements, foldPending } from "../../worker/aggregates/statements.ts";
import { DAY_MS, utcDay } from "../../worker/aggregates/sql.ts";
import { d1AuditSink, type DecisionRow } from "../../worker/audit/d1.ts";
import type { AuditRecord } from "../../worker/audit/record.ts";
import { d1EventStore } from "../../worker/events/store.ts";
import type { StoredEvent } from "../../worker/events/schema.ts";
import { ADMIN, auditRecord } from "./audit-fixtures.ts";
import { batches, deliverRecords, makeLog, shuffle, type Log } from "./aggregates-data.ts";
import { call } from "./helpers.ts";
import { AGG_TABLES, readAggregates, referenceAggregates, type EventRow, type Snapshot } from "./aggregates-reference.ts";

const DAY0 = Date.UTC(2026, 0, 5); // a UTC midnight no other test file writes to
const PREFIX = "aggtest";
const FROM_DAY = utcDay(DAY0);
const TO_DAY = utcDay(DAY0 + 4 * DAY_MS);
const db = env.DB;

type Item = { kind: "d"; r: AuditRecord } | { kind: "e"; r: StoredEvent };

/** What the consumer does per message batch: insert the rows, then fold them. */
async function deliver(batch: Item[]): Promise<void> {
  const decisions = batch.filter((i) => i.kind === "d").map((i) => i.r as AuditRecord);
  const events = batch.filter((i) => i.kind === "e").map((i) => i.r as StoredEvent);
  await deliverRecords(db, decisions, events);
}

async function deliverAll(all: Item[][]): Promise<Snapshot> {
  for (const b of all) await deliver(b);
  return readAggregates(db, FROM_DAY, TO_DAY);
}

/** Removes the scenario's raw rows and aggregates (its days and visitors are its own). */
async function reset(): Promise<void> {
  const start = DAY0;
  const end = DAY0 + 5 * DAY_MS;
  await db.batch([
    db.prepare("DELETE FROM decisions WHERE decision_id LIKE ?").bind(`${PREFIX}-%`),
    db.prepare("DELETE FROM events WHERE id LIKE ?").bind(`${PREFIX}-%`),
    ...AGG_TABLES.map((t) =>
      db.prepare(`DELETE FROM ${t} WHERE day >= ? AND day <= ?`).bind(FROM_DAY, TO_DAY),
    ),
    db.prepare("DELETE FROM agg_since WHERE since >= ? AND since < ?").bind(start, end),
  ]);
}

let log: Log;
let items: Item[];
let reference: Snapshot;

beforeAll(async () => {
  log = await makeLog(PREFIX, DAY0, 60, 20261130);
  items = [...log.decisions.map((r) => ({ kind: "d" as const, r })), ...log.events.map((r) => ({ kind: "e" as const, r }))];
  await reset();
  // The reference is computed from the raw rows as D1 stores them.
  await d1AuditSink(db).write(log.decisions);
  await d1EventStore(db).insert(log.events);
  const [d, e] = await db.batch([
    db.prepare("SELECT * FROM decisions WHERE decision_id LIKE ?").bind(`${PREFIX}-%`),
    db.prepare("SELECT * FROM events WHERE id LIKE ?").bind(`${PREFIX}-%`),
  ]);
  reference = referenceAggregates(d!.results as unknown as DecisionRow[], e!.results as unknown as EventRow[]);
  await reset();
});

const time = (i: Item) => i.r.time;

describe("aggregateStatements", () => {
  it("the seeded log covers what the fold must handle", () => {
    const groups = new Set(reference.agg_daily!.map((r) => r.grp));
    expect([...groups].sort()).toEqual(["campaign_holdout", "treatment", "universal_control"]);
    expect(reference.agg_since!.length).toBeGreaterThan(10);
    expect(reference.agg_exposures!.some((r) => (r.control as number) > 0 && (r.control as number) < (r.decisions as number) || r.experiment !== "universal")).toBe(true);
    expect(reference.agg_scores!.map((r) => r.bucket)).toEqual(expect.arrayContaining([-1, 0, 19, 20]));
    expect(reference.agg_scores!.map((r) => r.model)).toEqual(expect.arrayContaining(["shadow@1", "shadow@2", "m@aaaaaaaaaaaa"]));
    expect(log.events.some((e) => e.decisionId?.endsWith("never-arrives"))).toBe(true);
    // Content report tables: every view bucket up to "10 or more", clicks on repeat views, exclusions.
    expect(reference.agg_fatigue!.map((r) => r.exposure)).toEqual(expect.arrayContaining([1, 2, 3, 10]));
    expect(reference.agg_fatigue!.some((r) => (r.exposure as number) > 1 && (r.clicks as number) > 0)).toBe(true);
    expect(new Set(reference.agg_eligibility!.map((r) => r.reason))).toEqual(new Set(["", "country", "cap_block"]));
    expect(reference.agg_slot_pool!.some((r) => (r.starved as number) > 0 && (r.starved as number) < (r.decisions as number))).toBe(true);
    expect(reference.agg_daily_value!.some((r) => (r.value_sq as number) > 0)).toBe(true);
  });

  it("in time order equals the direct computation from raw rows; a redelivery changes nothing", async () => {
    await reset();
    const ordered = batches([...items].sort((a, b) => time(a) - time(b)), 9);
    const first = await deliverAll(ordered);
    expect(first).toEqual(reference);
    expect(await deliverAll(ordered)).toEqual(reference);
    // Redelivered in another order, in other batches: still nothing changes.
    expect(await deliverAll(batches(shuffle(items, 3), 13))).toEqual(reference);
    expect(await foldPending(db)).toEqual({ decisions: 0, events: 0 });
    expect(await readAggregates(db, FROM_DAY, TO_DAY)).toEqual(reference);
  });

  it.each([
    { order: "shuffled", arrange: () => batches(shuffle(items, 11), 7) },
    { order: "every event before every decision", arrange: () => batches([...items].sort((a, b) => (a.kind === b.kind ? time(b) - time(a) : a.kind === "e" ? -1 : 1)), 10) },
    { order: "one batch", arrange: () => [items] },
    { order: "two records per batch, newest first", arrange: () => batches([...items].sort((a, b) => time(b) - time(a)), 2) },
    // Batches mixing records already folded with new ones (and one record twice) take the
    // per-decision drift fold; batches of only new records take the batch totals (drift-fold.ts).
    {
      order: "overlapping: each batch repeats half the one before and one of its own records",
      arrange: () => {
        const b = batches(shuffle(items, 5), 8);
        return b.map((batch, k) => [...(k ? b[k - 1]!.slice(0, Math.ceil(b[k - 1]!.length / 2)) : []), ...batch, ...batch.slice(0, 1)]);
      },
    },
  ])("$order: identical aggregates", async ({ arrange }) => {
    await reset();
    expect(await deliverAll(arrange())).toEqual(reference);
  });

  it("events wait for their decision in agg_daily, and count for their visitor at once", async () => {
    await reset();
    const d = log.decisions.find((x) => log.events.some((e) => e.decisionId === x.decisionId && e.type === "impression"))!;
    const mine = log.events.filter((e) => e.decisionId === d.decisionId);
    await deliver(mine.map((r) => ({ kind: "e", r })));
    const impressions = () =>
      db.prepare("SELECT COALESCE(SUM(impressions), 0) AS n FROM agg_daily WHERE day >= ? AND day <= ?").bind(FROM_DAY, TO_DAY).first<number>("n");
    expect(await impressions()).toBe(0);
    const visitorEvents = await db.prepare("SELECT SUM(events) AS n FROM agg_visitor_days WHERE visitor_key = ?").bind(d.visitorKey).first<number>("n");
    expect(visitorEvents).toBe(mine.length);
    await deliver([{ kind: "d", r: d }]);
    expect(await impressions()).toBe(mine.filter((e) => e.type === "impression").length);
  });

  it("foldPending folds rows written without the statements (before migration 0006)", async () => {
    await reset();
    await d1AuditSink(db).write(log.decisions);
    await d1EventStore(db).insert(log.events);
    let folded = { decisions: 1, events: 1 };
    while (folded.decisions + folded.events > 0) folded = await foldPending(db, 50);
    expect(await readAggregates(db, FROM_DAY, TO_DAY)).toEqual(reference);
  });

  it("a decision id sent twice with different records counts once in the drift sums, as the first record, like its row", async () => {
    const time = DAY0 + 10 * DAY_MS;
    const day = utcDay(time);
    const model = `dup@${crypto.randomUUID().slice(0, 8)}`;
    const first = await auditRecord({ decisionId: `${PREFIX}-dup-${model}`, time, modelVersion: model, features: [[1, 0], [0, 1]], scores: [0.75, 0.25] });
    const second = { ...first, features: [[5, 5], [5, 5]] };
    await deliver([{ kind: "d", r: first }, { kind: "d", r: second }]);
    const sums = await db.prepare("SELECT feature, n, sum FROM agg_features WHERE day = ? AND model = ? ORDER BY feature").bind(day, model).all();
    expect(sums.results).toEqual([
      { feature: "block_default", n: 2, sum: 1 },
      { feature: "page_category_match", n: 2, sum: 1 },
    ]);
    expect(await db.prepare("SELECT features FROM decisions WHERE decision_id = ?").bind(first.decisionId).first("features")).toBe("[[1,0],[0,1]]");
  });

  it("returns no statement for an empty batch, and binds every id list as one parameter", () => {
    expect(aggregateStatements(db, { decisionIds: [], eventIds: [] })).toEqual([]);
    const ids = Array.from({ length: 5000 }, (_, i) => `id-${i}`);
    // 5,000 ids would exceed D1's 100 bound parameters if bound one by one.
    expect(aggregateStatements(db, { decisionIds: ids, eventIds: ids, decisions: [] }).length).toBeGreaterThan(0);
    // The drift sums come from the records: without them the fold would silently miss them.
    expect(() => aggregateStatements(db, { decisionIds: ids, eventIds: [] })).toThrow(/records/);
  });
});

describe("erasure", () => {
  it("DELETE /admin/visitors/:id removes the visitor's rows from the visitor-level aggregates", async () => {
    await reset();
    await deliverAll([items]);
    const key = log.decisions.find((d) => d.consent.personalization && d.consent.analytics)!.visitorKey;
    const visitorId = `${PREFIX}-v${log.decisions.find((d) => d.visitorKey === key)!.decisionId.split("-d")[1]!.split("-")[0]}`;
    const rows = () =>
      Promise.all(["agg_exposures", "agg_visitor_days", "agg_since"].map((t) => db.prepare(`SELECT COUNT(*) AS n FROM ${t} WHERE visitor_key = ?`).bind(key).first<number>("n")));
    expect((await rows()).reduce((a, b) => a! + b!, 0)).toBeGreaterThan(0);
    const res = await call(`/admin/visitors/${visitorId}`, { method: "DELETE", headers: ADMIN });
    expect(res.status).toBe(200);
    expect(await rows()).toEqual([0, 0, 0]);
    const others = await db.prepare("SELECT COUNT(*) AS n FROM agg_exposures WHERE day >= ? AND day <= ?").bind(FROM_DAY, TO_DAY).first<number>("n");
    expect(others).toBeGreaterThan(0);
  });
});

describe("a short D1 window", () => {
  it("a new exposure later in the day never needs events the retention already pruned", async () => {
    const day = DAY0 + 20 * DAY_MS;
    const h = (n: number) => day + n * 3_600_000;
    const rec = (id: string, time: number, slot: string) => auditRecord({ decisionId: `${PREFIX}-short-${id}`, visitorId: `${PREFIX}-short`, time, slot });
    const ev = (id: string, time: number): StoredEvent => ({
      id: `${PREFIX}-short-${id}`, time, type: "conversion", name: null, decisionId: null, visitorKey: "", blockId: null, slot: null, value: 2, currency: "EUR",
    });
    const first = await rec("d1", h(9), "hero");
    const key = first.visitorKey;
    await deliver([{ kind: "d", r: first }, { kind: "e", r: { ...ev("e1", h(10)), visitorKey: key } }]);
    // The retention cron prunes raw events older than 11:00.
    await db.prepare("DELETE FROM events WHERE id = ?").bind(`${PREFIX}-short-e1`).run();
    await deliver([{ kind: "d", r: await rec("d2", h(12), "sidebar") }, { kind: "e", r: { ...ev("e2", h(12.5)), visitorKey: key } }]);
    // A new slot before the sidebar's exposure: its events up to 12:00, then the sidebar's outcomes.
    await deliver([{ kind: "d", r: await rec("d3", h(11.5), "footer") }]);
    // A late sidebar decision moves that exposure to 11:00: the 12:00 outcomes are dropped.
    await deliver([{ kind: "d", r: await rec("d4", h(11), "sidebar") }]);
    const since = await db.prepare("SELECT since, events, value FROM agg_since WHERE visitor_key = ? ORDER BY since").bind(key).all();
    expect(since.results).toEqual([
      { since: h(9), events: 2, value: 4 },
      { since: h(11), events: 1, value: 2 },
      { since: h(11.5), events: 1, value: 2 },
    ]);
  });
});
