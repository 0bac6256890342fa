import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { CAMPAIGN_HOLDOUTS_KEY } from "../../worker/holdout/campaign.ts";
import type { LiftReport } from "../../worker/reports/lift.ts";
import { compareMeans } from "../../worker/stats/means.ts";
import { compareProportions } from "../../worker/stats/proportions.ts";
import { aggregateStatements } from "../../worker/aggregates/statements.ts";
import { liftData } from "../../worker/reports/query.ts";
import { liftDataFromRawRows } from "./lift-reference.ts";
import { adminGet, auditRecord, insertEvent as insertFixtureEvent, writeAudit } from "./audit-fixtures.ts";

/** A UTC midnight: the report covers whole UTC days (the aggregates keep days). */
const T0 = 1_764_979_200_000;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const WINDOW = `from=${T0}&to=${T0 + DAY}`;

/**
 * The seeded experiment (hand-countable):
 * - treatment: lift-t-0..39, a hero decision each (odd: spring-shoes, even: travel-bags), 0..9 also
 *   a sidebar decision; t-0..11 convert once, value 10·(i+1) EUR; t-12 converted only *before*
 *   its exposure (the same day) and t-13 only *after* the window: neither counts;
 * - control: lift-c-0..19, universal holdout (would have got spring-shoes when even); c-0..2
 *   convert, 20 EUR each;
 * - lift-ch: held out of spring-shoes only (campaign holdout): personalised, so treatment in the
 *   universal report and control in the spring-shoes report; no conversion;
 * - lift-mixed: one treatment and one control decision: excluded, reported;
 * - lift-noconsent: no analytics consent on the decision: not measurable, excluded;
 * - lift-early: decided before the window (the day before): excluded.
 * - custom KPI "newsletter_signup": t-20, t-21 and c-5.
 */
const seeded = (async () => {
  const records = [];
  for (let i = 0; i < 40; i++) {
    const visitorId = `lift-t-${i}`;
    const campaign = i % 2 ? "spring-shoes" : "travel-bags";
    records.push(await auditRecord({ visitorId, time: T0 + i * 1000, campaign, chosenBlockId: i % 2 ? "hero-shoes-trail" : "hero-bags-travel" }));
    if (i < 10) records.push(await auditRecord({ visitorId, time: T0 + i * 1000 + 1, slot: "sidebar", campaign: "accessories", chosenBlockId: "sidebar-shoe-care" }));
  }
  const control = { holdout: true, holdoutScope: "universal" as const, reason: "holdout" as const, chosenBlockId: "hero-default", campaign: "house", propensity: 1 };
  for (let i = 0; i < 20; i++) {
    records.push(await auditRecord({ visitorId: `lift-c-${i}`, time: T0 + i * 1000, ...control, counterfactualBlockId: "x", counterfactualCampaign: i % 2 ? "travel-bags" : "spring-shoes" }));
  }
  records.push(
    await auditRecord({ visitorId: "lift-ch", time: T0, holdout: true, holdoutScope: "campaign", chosenBlockId: "hero-bags-travel", campaign: "travel-bags", counterfactualBlockId: "hero-shoes-trail", counterfactualCampaign: "spring-shoes" }),
    await auditRecord({ visitorId: "lift-mixed", time: T0, campaign: "spring-shoes" }),
    await auditRecord({ visitorId: "lift-mixed", time: T0 + 1, ...control, counterfactualCampaign: "spring-shoes" }),
    await auditRecord({ visitorId: "lift-noconsent", time: T0, consent: { personalization: true, analytics: false } }),
    await auditRecord({ visitorId: "lift-early", time: T0 - 1 }),
  );
  await writeAudit(records);
  const eventIds: string[] = [];
  const insertEvent = (e: Parameters<typeof insertFixtureEvent>[0]) => {
    const id = crypto.randomUUID();
    eventIds.push(id);
    return insertFixtureEvent({ ...e, id });
  };
  for (let i = 0; i < 12; i++) await insertEvent({ time: T0 + HOUR / 2 + i, type: "conversion", visitorId: `lift-t-${i}`, value: 10 * (i + 1), currency: "EUR" });
  await insertEvent({ time: T0 + 12 * 1000 - 1, type: "conversion", visitorId: "lift-t-12", value: 999, currency: "EUR" });
  await insertEvent({ time: T0 + DAY, type: "conversion", visitorId: "lift-t-13", value: 999, currency: "EUR" });
  for (let i = 0; i < 3; i++) await insertEvent({ time: T0 + HOUR / 2, type: "conversion", visitorId: `lift-c-${i}`, value: 20, currency: "EUR" });
  for (const v of ["lift-noconsent", "lift-early", "lift-mixed"]) await insertEvent({ time: T0 + HOUR / 2, type: "conversion", visitorId: v, value: 5, currency: "EUR" });
  for (const v of ["lift-t-20", "lift-t-21", "lift-c-5"]) await insertEvent({ time: T0 + HOUR / 2, type: "custom", name: "newsletter_signup", visitorId: v });
  // What the log consumer does with each batch: fold the rows into the aggregates the report reads.
  await env.DB.batch(aggregateStatements(env.DB, { decisionIds: records.map((r) => r.decisionId), eventIds, decisions: records }));
})();

type Answer = LiftReport & { filters: Record<string, unknown>; kpi: { name: string; counts: Record<string, string> }; methods: Record<string, string> };

async function report(query: string): Promise<Answer> {
  await seeded;
  const res = await adminGet(`/admin/reports/lift?${WINDOW}&${query}`);
  expect(res.status).toBe(200);
  return res.json<Answer>();
}

describe("GET /admin/reports/lift", () => {
  it("matches the hand computation: universal control group, conversions", async () => {
    const r = await report("kpi=conversion");
    // Treatment: 40 + lift-ch = 41 visitors, 12 converted; revenue 10 + 20 + … + 120 = 780.
    expect(r.treatment).toMatchObject({ visitors: 41, conversions: 12, kpiEvents: 12, revenue: 780 });
    expect(r.control).toMatchObject({ visitors: 20, conversions: 3, kpiEvents: 3, revenue: 60 });
    expect(r.treatment.rate.estimate).toBeCloseTo(12 / 41, 12);
    expect(r.control.rate.estimate).toBeCloseTo(0.15, 12);
    expect(r.lift.absolute.estimate).toBeCloseTo(12 / 41 - 0.15, 12);
    expect(r.lift.relative.estimate).toBeCloseTo(12 / 41 / 0.15 - 1, 12);
    expect(r.treatment.revenuePerVisitor.estimate).toBeCloseTo(780 / 41, 12);
    expect(r.control.revenuePerVisitor.estimate).toBeCloseTo(3, 12);
    expect(r.revenuePerVisitorLift.absolute.estimate).toBeCloseTo(780 / 41 - 3, 12);

    // Intervals and p-values: the statistics of hand-counted inputs (validated against SciPy in test/node).
    const expected = compareProportions({ n: 41, x: 12 }, { n: 20, x: 3 });
    expect(r.lift.absolute).toEqual(expected.absoluteLift);
    expect(r.lift.relative).toEqual(expected.relativeLift);
    expect(r.lift.pValue).toBe(expected.pValue);
    // Σx² of revenue: treatment 100 · (1² + … + 12²) = 65,000; control 3 · 20² = 1,200.
    const revenue = compareMeans({ n: 41, sum: 780, sumSquares: 65_000 }, { n: 20, sum: 60, sumSquares: 1_200 });
    expect(r.revenuePerVisitorLift.absolute.low).toBeCloseTo(revenue.difference.low!, 9);
    expect(r.revenuePerVisitorLift.absolute.high).toBeCloseTo(revenue.difference.high!, 9);

    // 20 of 61 in control against the configured 5%: a sample-ratio mismatch; and small samples.
    expect(r.srm).toMatchObject({ expectedControlShare: 0.05, mismatch: true });
    expect(r.srm.observedControlShare).toBeCloseTo(20 / 61, 12);
    // T0 (2025-12-06) lies more than RETENTION_DAYS (90) before today: the daily cron would have
    // deleted these visitors' aggregates, and the report says so.
    expect(r.warnings.map((w) => w.code).sort()).toEqual(["before_visitor_retention", "mixed_visitors", "sample_ratio_mismatch", "small_sample"]);
    expect(r.warnings.find((w) => w.code === "before_visitor_retention")!.message).toMatch(/^visitor-level data before \d{4}-\d{2}-\d{2} is deleted by the daily retention cron/);
    // The estimators are named for the reader (the console shows them as small print).
    expect(r.methods).toMatchObject({ absoluteLift: expect.stringContaining("Newcombe"), srm: expect.stringContaining("chi-square") });
  });

  it("a window inside the visitor-level retention carries no retention warning", async () => {
    await seeded;
    const now = Date.now();
    const res = await adminGet(`/admin/reports/lift?from=${now - 7 * DAY}&to=${now}`);
    expect(res.status).toBe(200);
    const r = await res.json<Answer>();
    expect(r.warnings.map((w) => w.code)).not.toContain("before_visitor_retention");
  });

  it("uses a given control share for the SRM check", async () => {
    const r = await report(`controlShare=${20 / 61}`);
    expect(r.srm.mismatch).toBe(false);
    expect(r.srm.pValue).toBeCloseTo(1, 9);
  });

  it("per campaign: served the campaign vs held out while the model would have served it", async () => {
    const r = await report("campaign=spring-shoes");
    // Treatment: odd t (20), 6 of them among the converters t-1, 3, 5, 7, 9, 11.
    expect(r.treatment).toMatchObject({ visitors: 20, conversions: 6, revenue: 20 + 40 + 60 + 80 + 100 + 120 });
    // Control: even c (10) with conversions c-0 and c-2, plus the campaign holdout lift-ch.
    expect(r.control).toMatchObject({ visitors: 11, conversions: 2, revenue: 40 });
  });

  it("combines the universal and the campaign holdout rate into the expected split", async () => {
    await env.CONFIG.put(CAMPAIGN_HOLDOUTS_KEY, JSON.stringify({ campaigns: { "spring-shoes": { rate: 0.1, salt: "s" } } }));
    try {
      const r = await report("campaign=spring-shoes");
      expect(r.srm.expectedControlShare).toBeCloseTo(0.05 + 0.1 - 0.005, 12);
    } finally {
      await env.CONFIG.delete(CAMPAIGN_HOLDOUTS_KEY);
    }
  });

  it("filters by slot (no control decisions there: no lift, no 5xx)", async () => {
    const r = await report("slot=sidebar");
    expect(r.treatment).toMatchObject({ visitors: 10, conversions: 10 });
    expect(r.control.visitors).toBe(0);
    expect(r.lift.absolute.estimate).toBeNull();
    expect(r.warnings.map((w) => w.code)).toContain("small_sample");
  });

  it("takes a custom event as the KPI", async () => {
    const r = await report("kpi=newsletter_signup");
    expect([r.treatment.conversions, r.control.conversions]).toEqual([2, 1]);
  });

  it("labels the counts by the KPI", async () => {
    const r = await report("kpi=newsletter_signup");
    expect(r.kpi.name).toBe("newsletter_signup");
    expect(r.kpi.counts.conversions).toContain("at least one newsletter_signup event");
    expect(r.kpi.counts.kpiEvents).toContain("newsletter_signup events");
  });

  it("answers a KPI without any event with 422 and the KPIs that exist", async () => {
    await seeded;
    const res = await adminGet(`/admin/reports/lift?${WINDOW}&kpi=newsleter_signup`);
    expect(res.status).toBe(422);
    const body = await res.json<{ error: { code: string; message: string } }>();
    expect(body.error.code).toBe("unknown_kpi");
    expect(body.error.message).toContain("newsleter_signup");
    expect(body.error.message).toMatch(/KPIs with events: conversion, click, impression, .*newsletter_signup/);
  });

  it.each([
    { form: "version", model: "nextbest-default@abcdef012345" },
    { form: "12-hex prefix (decisions name it, the registry does not)", model: "abcdef012345" },
    { form: "id (registry)", model: `abcdef012345${"7".repeat(52)}` },
    { form: "longer prefix (registry)", model: `abcdef012345${"7".repeat(8)}` },
  ])("accepts the model as its $form", async ({ model }) => {
    const id = `abcdef012345${"7".repeat(52)}`;
    const registered = model.length > 12 && !model.includes("@");
    if (registered) {
      await env.DB.prepare("INSERT INTO models (id, name, version, size_bytes, manifest, report, uploaded_by, uploaded_at) VALUES (?, 'nextbest-default', 'nextbest-default@abcdef012345', 1, '{}', '{}', 'test', 0)")
        .bind(id)
        .run();
    }
    try {
      const r = await report(`model=${model}`);
      expect(r.filters.modelVersion).toBe("nextbest-default@abcdef012345");
      expect(r.treatment).toMatchObject({ visitors: 41, conversions: 12 });
      expect(r.control).toMatchObject({ visitors: 20, conversions: 3 });
    } finally {
      if (registered) await env.DB.prepare("DELETE FROM models WHERE id = ?").bind(id).run();
    }
  });

  it.each(["someone-else", "0123456789ab", "other@0123456789ab"])("answers 404 for a model nobody knows: %s", async (model) => {
    await seeded;
    const res = await adminGet(`/admin/reports/lift?${WINDOW}&model=${model}`);
    expect(res.status).toBe(404);
    expect((await res.json<{ error: { message: string } }>()).error.message).toContain(model);
  });

  it("covers whole UTC days and says which", async () => {
    const r = await report("");
    const inside = await adminGet(`/admin/reports/lift?from=${T0 + HOUR}&to=${T0 + 2 * HOUR}`);
    const same = await inside.json<Answer>();
    expect(same.filters).toMatchObject({ from: T0, to: T0 + DAY });
    expect(same.treatment).toEqual(r.treatment);
  });

  it.each([
    { kpi: "conversion" },
    { kpi: "conversion", currency: "EUR" },
    { kpi: "newsletter_signup" },
    { kpi: "conversion", campaign: "spring-shoes" },
    { kpi: "conversion", campaign: "travel-bags", slot: "hero" },
    { kpi: "click", slot: "sidebar" },
    { kpi: "conversion", modelVersion: "nextbest-default@abcdef012345" },
  ])("gives the same answer as the raw-row query: %o", async (filter) => {
    await seeded;
    const f = { from: T0, to: T0 + DAY, ...filter };
    const { rowsRead: _a, ...fromAggregates } = await liftData(env.DB, f);
    const { rowsRead: _b, ...fromRawRows } = await liftDataFromRawRows(env.DB, f);
    expect(fromAggregates).toEqual(fromRawRows);
  });

  it.each([
    { query: "from=x", field: "from" },
    { query: "kpi=no spaces", field: "kpi" },
    { query: "confidence=2", field: "confidence" },
    { query: `from=${T0 + 10}&to=${T0}`, field: "from" },
  ])("refuses $query", async ({ query, field }) => {
    const res = await adminGet(`/admin/reports/lift?${query}`);
    expect(res.status).toBe(400);
    expect((await res.json<{ error: { message: string } }>()).error.message).toContain(field);
  });
});
