import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { aggregateStatements } from "../../worker/aggregates/statements.ts";
import { DAY_MS } from "../../worker/aggregates/sql.ts";
import { createApp } from "../../worker/app.ts";
import { d1AuditSink } from "../../worker/audit/d1.ts";
import { memoryAuditSink, type AuditRecord } from "../../worker/audit/record.ts";
import { d1EventStore } from "../../worker/events/store.ts";
import type { StoredEvent } from "../../worker/events/schema.ts";
import { isHeldOut } from "../../worker/holdout/assign.ts";
import type { BlockReport, NeverEligible } from "../../worker/reports/content.ts";
import { zCritical } from "../../worker/stats/distributions.ts";
import { auditRecord } from "./audit-fixtures.ts";
import { call } from "./helpers.ts";

const DAY0 = Date.UTC(2024, 8, 2); // a Monday no other test file writes to
const db = env.DB;
const ADMIN = { authorization: "Bearer test-admin-token" };

/**
 * Hand-countable traffic on the hero slot, one week: per view count (1st, 2nd, 3rd) of the same
 * visitor, `impressions[k]` decisions with an impression each and `clicks[k]` of them clicked.
 */
interface Plan {
  block: string;
  impressions: [number, number, number];
  clicks: [number, number, number];
  conversions?: { count: number; value: number; currency: string };
}
const PLANS: Plan[] = [
  // Fatigued: 40% → 20% → 8%.
  { block: "hero-shoes-trail", impressions: [300, 300, 300], clicks: [120, 60, 24] },
  // Flat, 81 clicks of 263 impressions in all (Newcombe's example), 4 conversions of 10 EUR.
  { block: "hero-bags-travel", impressions: [88, 88, 87], clicks: [27, 27, 27], conversions: { count: 4, value: 10, currency: "EUR" } },
];

async function deliver(decisions: AuditRecord[], events: StoredEvent[]) {
  for (let i = 0; i < Math.max(decisions.length, events.length); i += 100) {
    const d = decisions.slice(i, i + 100);
    const e = events.slice(i, i + 100);
    await d1AuditSink(db).write(d);
    await d1EventStore(db).insert(e);
    await db.batch(aggregateStatements(db, { decisionIds: d.map((r) => r.decisionId), eventIds: e.map((r) => r.id), decisions: d }));
  }
}

beforeAll(async () => {
  const decisions: AuditRecord[] = [];
  const events: StoredEvent[] = [];
  let n = 0;
  const event = (type: StoredEvent["type"], d: AuditRecord, over: Partial<StoredEvent> = {}) =>
    events.push({ id: `rc-e${n++}`, time: d.time + 1000, type, name: null, decisionId: d.decisionId, visitorKey: d.visitorKey, blockId: d.chosenBlockId, slot: d.slot, value: null, currency: null, ...over });
  for (const plan of PLANS) {
    let converted = 0;
    for (let k = 0; k < 3; k++) {
      for (let i = 0; i < plan.impressions[k]!; i++) {
        const d = await auditRecord({
          visitorId: `rc-${plan.block}-${i}`,
          decisionId: `rc-${plan.block}-${k}-${i}`,
          time: DAY0 + (k + 1) * 3_600_000 + i * 1000,
          chosenBlockId: plan.block,
          candidates: [plan.block, "hero-default"],
          // The jackets block never gets in: the country rule mostly, sometimes its cap.
          excluded: [{ blockId: "hero-jackets-rain", reason: i % 4 === 0 ? "cap_block" : "country" }],
          exposureOrdinal: k + 1,
          campaign: null,
        });
        decisions.push(d);
        event("impression", d);
        if (i < plan.clicks[k]!) event("click", d);
        if (plan.conversions && k === 0 && converted < plan.conversions.count) {
          converted++;
          event("conversion", d, { value: plan.conversions.value, currency: plan.conversions.currency });
        }
      }
    }
  }
  // Decisions with a single eligible block: the hero slot was starved 10 times.
  for (let i = 0; i < 10; i++) decisions.push(await auditRecord({ visitorId: `rc-starved-${i}`, decisionId: `rc-starved-${i}`, time: DAY0 + DAY_MS, chosenBlockId: "hero-default", candidates: ["hero-default"], excluded: [] }));
  await deliver(decisions, events);
});

async function report(query = "") {
  const res = await call(`/admin/reports/content?from=${DAY0}&to=${DAY0 + 7 * DAY_MS}${query}`, { headers: ADMIN });
  expect(res.status).toBe(200);
  return res.json<{ blocks: BlockReport[]; refresh: Array<{ blockId: string; reasons: string[] }>; neverEligible: NeverEligible[]; slots: Array<{ slot: string; decisions: number; starved: number; meanEligible: number }>; campaigns: Array<{ campaign: string; impressions: number }> }>();
}

describe("GET /admin/reports/content", () => {
  it("counts per block with intervals checked against reference values", async () => {
    const r = await report();
    const bags = r.blocks.find((b) => b.blockId === "hero-bags-travel")!;
    expect(bags).toMatchObject({ campaign: "travel-bags", decisions: 263, impressions: 263, clicks: 81, conversions: 4, slots: ["hero"] });
    // Newcombe (1998), Table I: Wilson interval of 81/263 is 0.2553 to 0.3662.
    expect(bags.ctr.low).toBeCloseTo(0.2553, 4);
    expect(bags.ctr.high).toBeCloseTo(0.3662, 4);
    expect(bags.cvr.estimate).toBeCloseTo(4 / 263, 12);
    // Revenue per impression by hand: mean 40/263, s² = (Σv² − (Σv)²/n)/(n − 1), ± z·s/√n.
    const [eur] = bags.revenue;
    const n = 263;
    const half = zCritical(0.95) * Math.sqrt((400 - 1600 / n) / (n - 1) / n);
    expect(eur).toMatchObject({ currency: "EUR", conversions: 4, total: 40 });
    expect(eur!.perImpression.low).toBeCloseTo(40 / n - half, 10);
    expect(eur!.totalInterval.high).toBeCloseTo(40 + half * n, 8);
    expect(r.campaigns.find((c) => c.campaign === "spring-shoes")!.impressions).toBe(900);
  });

  it("flags the fatigued creative, not the flat one", async () => {
    const r = await report();
    const shoes = r.blocks.find((b) => b.blockId === "hero-shoes-trail")!;
    expect(shoes.fatigue.byViews.map((l) => [l.views, l.impressions, l.clicks])).toEqual([["1", 300, 120], ["2", 300, 60], ["3+", 300, 24]]);
    expect(shoes.fatigue.flagged).toBe(true);
    expect(shoes.fatigue.viewTrend!.z).toBeLessThan(-8);
    expect(r.refresh.map((b) => b.blockId)).toEqual(["hero-shoes-trail"]);
    expect(r.refresh[0]!.reasons).toEqual(["falls_with_repeat_views"]);
    const bags = r.blocks.find((b) => b.blockId === "hero-bags-travel")!;
    expect(bags.fatigue.flagged).toBe(false);
    expect(bags.fatigue.weeks).toHaveLength(1);
    // Too few impressions per group for the caller's threshold: not flagged.
    expect((await report("&minImpressions=301")).refresh).toEqual([]);
  });

  it("lists blocks never eligible with the rule that excluded them most, and starved slots", async () => {
    const r = await report();
    const jackets = r.neverEligible.find((b) => b.blockId === "hero-jackets-rain")!;
    expect(jackets).toMatchObject({ considered: 1163, topReason: "country" });
    expect(jackets.exclusions.map((e) => [e.reason, e.count])).toEqual([["country", 872], ["cap_block", 291]]);
    expect(r.neverEligible[0]!.blockId).toBe("hero-jackets-rain");
    expect(r.neverEligible.map((b) => b.blockId)).not.toContain("hero-shoes-trail");
    expect(r.neverEligible.find((b) => b.blockId === "sidebar-newsletter")).toMatchObject({ considered: 0, topReason: null });
    const hero = r.slots.find((s) => s.slot === "hero")!;
    expect(hero).toMatchObject({ decisions: 1173, starved: 10 });
    expect(hero.meanEligible).toBeCloseTo((1163 * 2 + 10) / 1173, 12);
  });

  it("is empty outside the data, refuses bad parameters and needs the token", async () => {
    const res = await call(`/admin/reports/content?from=${DAY0 - 30 * DAY_MS}&to=${DAY0 - 20 * DAY_MS}`, { headers: ADMIN });
    expect((await res.json<{ blocks: unknown[] }>()).blocks).toEqual([]);
    for (const q of ["from=yesterday", `from=${DAY0}&to=${DAY0 - 1}`, "alpha=2", "minImpressions=0"]) {
      expect((await call(`/admin/reports/content?${q}`, { headers: ADMIN })).status).toBe(400);
    }
    expect((await call("/admin/reports/content")).status).toBe(401);
  });
});

describe("decisions carry the visitor's exposure ordinal", () => {
  it("the same block served twice to one visitor: 1 then 2; a holdout decision: none", async () => {
    const audit = memoryAuditSink();
    const app = createApp(() => ({ audit }));
    const decide = async (visitorId: string) => {
      const ctx = createExecutionContext();
      const body = { visitorId, slots: ["hero"], consent: { personalization: true }, context: { signals: { pageType: "category", pageCategory: "bags" } } };
      const res = await app.fetch(new Request("http://nextbest.test/v1/decide", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }), env, ctx);
      await waitOnExecutionContext(ctx);
      expect(res.status).toBe(200);
    };
    const holdout = { rate: Number(env.HOLDOUT_RATE), salt: env.HOLDOUT_SALT };
    const ids = Array.from({ length: 200 }, (_, i) => `rc-ordinal-${i}`);
    const treated = ids.find((id) => !isHeldOut(id, holdout))!;
    const control = ids.find((id) => isHeldOut(id, holdout))!;
    await decide(treated);
    await decide(treated);
    await decide(control);
    const [first, second, held] = audit.records;
    expect(first!.exposureOrdinal).toBe(1);
    expect(second!.exposureOrdinal).toBe(second!.chosenBlockId === first!.chosenBlockId ? 2 : 1);
    expect(held!.holdout).toBe(true);
    expect(held!.exposureOrdinal).toBeUndefined();
    // And it survives the D1 round trip.
    await d1AuditSink(db).write([first!]);
    expect(await db.prepare("SELECT exposure_ordinal AS o FROM decisions WHERE decision_id = ?").bind(first!.decisionId).first("o")).toBe(1);
  });
});
