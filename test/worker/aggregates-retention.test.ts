import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { pruneVisitorAggregates } from "../../worker/aggregates/prune.ts";
import { DAY_MS, utcDay } from "../../worker/aggregates/sql.ts";
import { liftData } from "../../worker/reports/query.ts";
import { runRetention, visitorAggregateDays } from "../../worker/retention/retention.ts";
import { deliverRecords, makeLog } from "./aggregates-data.ts";

// Days no other test file writes to, long before every other file's rows (pruning deletes every
// visitor's rows before the cutoff day, so this file's cutoffs stay before everyone else's data).
const DAY0 = Date.UTC(2015, 4, 4);
const PREFIX = "aggret";
const db = env.DB;
const DAYS = [0, 1, 2].map((d) => utcDay(DAY0 + d * DAY_MS));
const TABLES = ["agg_exposures", "agg_visitor_days", "agg_since", "agg_moment_exposures", "agg_moment_outbound"] as const;

/** This file's rows per table and day (agg_since by the day of `since`). */
async function rowsByDay(): Promise<Record<string, Record<string, number>>> {
  const dayOfSince = "date(since / 1000, 'unixepoch')";
  const out: Record<string, Record<string, number>> = {};
  for (const t of TABLES) {
    const day = t === "agg_since" ? dayOfSince : "day";
    const { results } = await db
      .prepare(`SELECT ${day} AS d, COUNT(*) AS n FROM ${t} WHERE ${day} >= ? AND ${day} <= ? GROUP BY d ORDER BY d`)
      .bind(DAYS[0], utcDay(DAY0 + 4 * DAY_MS))
      .all<{ d: string; n: number }>();
    out[t] = Object.fromEntries(results.map((r) => [r.d, r.n]));
  }
  return out;
}

/** The rows of days from `day` on. */
const from = (counts: Record<string, number>, day: string) => Object.fromEntries(Object.entries(counts).filter(([d]) => d >= day));

/** Visitor-level lift of the last day and of all three days, universal and one campaign. */
const lift = (from: number) =>
  Promise.all([undefined, "spring"].map((campaign) => liftData(db, { from, to: DAY0 + 3 * DAY_MS, kpi: "conversion", campaign }))).then((r) =>
    r.map(({ rowsRead: _, ...data }) => data),
  );

/** Writes a seeded log under `prefix` through the consumer's writers and fold, and moment exposures. */
async function seed(prefix: string): Promise<void> {
  const log = await makeLog(prefix, DAY0, 40, 20150504);
  await deliverRecords(db, log.decisions, log.events);
  // Moment exposures, of visitors and of identified customers (worker/moments/ folds them from
  // decisions with moments): one row a day each.
  await db.batch(
    DAYS.flatMap((day, i) => [
      db
        .prepare("INSERT OR REPLACE INTO agg_moment_exposures (moment, day, visitor_key, first_time, decisions, control, kpi_event, window_ms) VALUES ('cart-abandon', ?, ?, ?, 1, 0, 'conversion', 3600000)")
        .bind(day, `${prefix}-moment-visitor-${i % 2}`, DAY0 + i * DAY_MS + 1000),
      db
        .prepare("INSERT OR REPLACE INTO agg_moment_outbound (moment, day, customer_key, feedback_key, first_time, decisions, control, kpi_event, window_ms) VALUES ('renewal', ?, ?, ?, ?, 1, 0, 'conversion', 3600000)")
        .bind(day, `${prefix}-customer-${i % 2}`, `${prefix}-feedback-${i % 2}`, DAY0 + i * DAY_MS + 2000),
    ]),
  );
}

beforeAll(async () => {
  await seed(PREFIX);
});

describe("retention of the visitor-level aggregates", () => {
  it.each([
    { value: undefined, retention: 90, days: 90 },
    { value: "", retention: 90, days: 90 },
    { value: "30", retention: 90, days: 30 },
    { value: "400", retention: 90, days: 90 },
    { value: "0", retention: 30, days: 30 },
    { value: "thirty", retention: 30, days: 30 },
  ])("AGG_VISITOR_DAYS=$value with RETENTION_DAYS $retention → $days days", ({ value, retention, days }) => {
    expect(visitorAggregateDays(value, retention)).toBe(days);
  });

  it("deletes whole days before the cutoff's day, in chunks, and no report of a later window changes", async () => {
    // A row with an empty key (none is written today; the walk must still start before it).
    await db.prepare("INSERT OR REPLACE INTO agg_visitor_days (visitor_key, day, type, name, currency, events, value) VALUES ('', ?, 'click', '', '', 1, 0)").bind(DAYS[0]).run();
    const before = await rowsByDay();
    const dayLevel = () => db.prepare("SELECT COUNT(*) AS n FROM agg_daily WHERE day >= ? AND day <= ?").bind(DAYS[0], DAYS[2]).first<number>("n");
    const dayLevelBefore = await dayLevel();
    expect(dayLevelBefore).toBeGreaterThan(0);
    // The log covers three days in every visitor-level table.
    for (const t of TABLES) expect(Object.keys(before[t]!).sort()).toEqual(expect.arrayContaining(DAYS));
    const lastDay = await lift(DAY0 + 2 * DAY_MS);
    expect(lastDay[0]!.treatment.visitors).toBeGreaterThan(0);

    // Cutoff in the middle of the third day: days one and two go, the third and later stay whole. Chunks of
    // three rows and at most two statements per table per call: the first call cannot finish.
    const cutoff = DAY0 + 2 * DAY_MS + 5 * 3_600_000;
    const first = await pruneVisitorAggregates(db, cutoff, 3, 2);
    expect(first.cutoffDay).toBe(DAYS[2]);
    expect(first.more).toBe(true);
    let total = first.deleted;
    for (let calls = 0; calls < 100; calls++) {
      const next = await pruneVisitorAggregates(db, cutoff, 3, 2);
      total = Object.fromEntries(TABLES.map((t) => [t, total[t] + next.deleted[t]])) as typeof total;
      if (!next.more) break;
    }

    const after = await rowsByDay();
    for (const t of TABLES) {
      expect(after[t]).toEqual(from(before[t]!, DAYS[2]!));
      expect(total[t]).toBe(before[t]![DAYS[0]!]! + before[t]![DAYS[1]!]!);
    }
    expect(await lift(DAY0 + 2 * DAY_MS)).toEqual(lastDay);
    // Day-level aggregates hold no visitor key and are kept.
    expect(await dayLevel()).toBe(dayLevelBefore);

    // Nothing left to delete: a second pass changes nothing.
    const again = await pruneVisitorAggregates(db, cutoff);
    expect(again).toEqual({ cutoffDay: DAYS[2], deleted: { agg_exposures: 0, agg_visitor_days: 0, agg_since: 0, agg_moment_exposures: 0, agg_moment_outbound: 0 }, more: false });
  });

  it("the daily cron prunes them at AGG_VISITOR_DAYS", async () => {
    // A second log (other visitors, the same days): rows before the cutoff again.
    await seed(`${PREFIX}-cron`);
    const before = await rowsByDay();
    for (const t of TABLES) expect(before[t]![DAYS[0]!]).toBeGreaterThan(0);
    const result = await runRetention({ DB: db, LAKE: env.LAKE, RETENTION_DAYS: "90", AGG_VISITOR_DAYS: "1" }, DAY0 + 3 * DAY_MS + 3 * 3_600_000);
    expect(result.visitorAggregates?.cutoffDay).toBe(DAYS[2]);
    const after = await rowsByDay();
    for (const t of TABLES) expect(after[t]).toEqual(from(before[t]!, DAYS[2]!));
  });
});
