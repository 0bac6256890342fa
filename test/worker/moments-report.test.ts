import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { aggregateStatements } from "../../worker/aggregates/statements.ts";
import { d1AuditSink } from "../../worker/audit/d1.ts";
import type { AuditRecord } from "../../worker/audit/record.ts";
import { d1EventStore } from "../../worker/events/store.ts";
import type { StoredEvent } from "../../worker/events/schema.ts";
import { compareProportions } from "../../worker/stats/proportions.ts";
import { visitorKey } from "../../worker/visitor/key.ts";
import { ADMIN, auditRecord } from "./audit-fixtures.ts";
import { call } from "./helpers.ts";

const db = env.DB;
const H = 3_600_000;
const DAY0 = Date.UTC(2026, 2, 3); // a UTC day no other test file writes to
const AT = DAY0 + 10 * H;
const SPIKE = { event: "conversion", windowSeconds: 3600 };
const RENEW = { event: "renewed", windowSeconds: 86_400 };

async function decision(visitorId: string, time: number, moments: Array<[string, typeof SPIKE]>, control = false): Promise<AuditRecord> {
  return auditRecord({
    visitorId,
    time,
    decisionId: `mr-${visitorId}-${time}`,
    chosenBlockId: control ? "hero-default" : "hero-a",
    reason: control ? "holdout" : "ranked",
    holdout: control,
    holdoutScope: control ? "universal" : null,
    moments: moments.map(([id]) => id),
    momentKpis: moments.map(([, kpi]) => kpi),
  });
}

async function event(visitorId: string, time: number, type: StoredEvent["type"], o: { name?: string; decisionId?: string; value?: number } = {}): Promise<StoredEvent> {
  return { id: `mr-${visitorId}-${type}-${time}`, time, type, name: o.name ?? null, decisionId: o.decisionId ?? null, visitorKey: await visitorKey(visitorId), blockId: null, slot: null, value: o.value ?? null, currency: o.value ? "EUR" : null };
}

/** Writes and folds a batch the way the log consumer does. */
async function deliver(decisions: AuditRecord[], events: StoredEvent[]) {
  await d1AuditSink(db).write(decisions);
  await d1EventStore(db).insert(events);
  await db.batch(aggregateStatements(db, { decisionIds: decisions.map((d) => d.decisionId), eventIds: events.map((e) => e.id), decisions }));
}

interface Section {
  moment: string;
  kpi: { event: string; windowSeconds: number };
  lift: { treatment: { visitors: number; conversions: number; kpiEvents: number; revenue: number }; control: { visitors: number; conversions: number; revenue: number }; lift: { absolute: { estimate: number | null; low: number | null; high: number | null } } };
  content: Array<{ blockId: string; group: string; decisions: number; impressions: number; clicks: number; kpiEvents: number }>;
}
const report = async () => {
  const res = await call(`/admin/reports/moments?from=${DAY0}&to=${DAY0 + 3 * 86_400_000}`, { headers: ADMIN });
  expect(res.status).toBe(200);
  return (await res.json<{ byMoment: Section[] }>()).byMoment;
};

describe("retention", () => {
  it("a window before the visitor-level aggregates retention keeps carries the warning; a recent one does not", async () => {
    // DAY0 (2026-03-03) lies more than RETENTION_DAYS (90) before today.
    const old = await call(`/admin/reports/moments?from=${DAY0}&to=${DAY0 + 86_400_000}`, { headers: ADMIN });
    expect((await old.json<{ warnings: { code: string }[] }>()).warnings.map((w) => w.code)).toEqual(["before_visitor_retention"]);
    const now = Date.now();
    const recent = await call(`/admin/reports/moments?from=${now - 7 * 86_400_000}&to=${now}`, { headers: ADMIN });
    expect((await recent.json<{ warnings: unknown[] }>()).warnings).toEqual([]);
  });
});

describe("lift and content by moment, each on its own KPI within its window", () => {
  it("counts visitors from their first decision in the moment and KPI events inside the window only; redelivery changes nothing", async () => {
    const d = {
      a: await decision("mr-a", AT, [["spike", SPIKE]]),
      b: await decision("mr-b", AT, [["spike", SPIKE]]),
      c: await decision("mr-c", AT, [["spike", SPIKE], ["renew", RENEW]]),
      d: await decision("mr-d", AT, [["spike", SPIKE]], true),
      e: await decision("mr-e", AT, [["spike", SPIKE]], true),
      f1: await decision("mr-f", AT, [["spike", SPIKE]]),
      f2: await decision("mr-f", AT + 20 * 60_000, [["spike", SPIKE]]),
      none: await decision("mr-g", AT, []),
    };
    const early = [
      // Events before their decisions arrive (the consumer's batches come in any order).
      await event("mr-a", AT + 30 * 60_000, "conversion", { decisionId: d.a.decisionId, value: 50 }), // inside 1 h
      await event("mr-b", AT + 2 * H, "conversion", { value: 99 }), // outside 1 h
    ];
    const late = [
      await event("mr-a", AT + 60_000, "impression", { decisionId: d.a.decisionId }),
      await event("mr-a", AT + 2 * 60_000, "click", { decisionId: d.a.decisionId }),
      await event("mr-c", AT + 23 * H, "custom", { name: "renewed" }), // inside renew's 24 h, not a spike KPI
      await event("mr-d", AT + 10 * 60_000, "conversion", { value: 30 }),
      await event("mr-f", AT + 50 * 60_000, "conversion", { value: 20 }), // 50 min after f's first decision
      await event("mr-g", AT + 5 * 60_000, "conversion", { value: 7 }), // in no moment
    ];
    await deliver([], early);
    await deliver(Object.values(d), []);
    await deliver([], late);
    const first = await report();

    const spike = first.find((s) => s.moment === "spike")!;
    expect(spike.kpi).toEqual(SPIKE);
    expect(spike.lift.treatment).toMatchObject({ visitors: 4, conversions: 2, kpiEvents: 2, revenue: 70 }); // a, b, c, f; a and f converted
    expect(spike.lift.control).toMatchObject({ visitors: 2, conversions: 1, revenue: 30 }); // d, e; d converted
    // Checked against the same estimator on the hand-counted groups.
    expect(spike.lift.lift.absolute).toMatchObject(compareProportions({ n: 4, x: 2 }, { n: 2, x: 1 }, 0.95).absoluteLift);
    expect(spike.lift.lift.absolute.estimate).toBe(0); // 2/4 − 1/2
    expect(spike.content).toEqual([
      { blockId: "hero-a", group: "treatment", decisions: 5, impressions: 1, clicks: 1, kpiEvents: 1, ctr: expect.any(Object) },
      { blockId: "hero-default", group: "universal_control", decisions: 2, impressions: 0, clicks: 0, kpiEvents: 0, ctr: expect.any(Object) },
    ]);
    const renew = first.find((s) => s.moment === "renew")!;
    expect(renew.kpi).toEqual(RENEW);
    expect(renew.lift.treatment).toMatchObject({ visitors: 1, conversions: 1, kpiEvents: 1 });
    expect(renew.lift.control).toMatchObject({ visitors: 0 });

    // A redelivered batch (the queue delivers at least once) leaves every figure as it was.
    await deliver(Object.values(d), late);
    await deliver([], early);
    expect(await report()).toEqual(first);
  });

  it("erasure removes the visitor's moment aggregates", async () => {
    const rec = await decision("mr-erase", AT, [["spike", SPIKE]]);
    await deliver([rec], []);
    const key = await visitorKey("mr-erase");
    const count = () => db.prepare("SELECT COUNT(*) AS n FROM agg_moment_exposures WHERE visitor_key = ?").bind(key).first<number>("n");
    expect(await count()).toBe(1);
    expect((await call("/admin/visitors/mr-erase", { method: "DELETE", headers: ADMIN })).status).toBe(200);
    expect(await count()).toBe(0);
  });
});
