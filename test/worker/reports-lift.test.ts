import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { CAMPAIGN_HOLDOUTS_KEY } from "../../worker/holdout/campaign.ts";
import type { LiftReport } from "../../worker/reports/lift.ts";
import { compareMeans } from "../../worker/stats/means.ts";
import { compareProportions } from "../../worker/stats/proportions.ts";
import { adminGet, auditRecord, insertEvent, writeAudit } from "./audit-fixtures.ts";

const T0 = 1_765_000_000_000;
const HOUR = 3_600_000;
const WINDOW = `from=${T0}&to=${T0 + HOUR}`;

/**
 * The seeded experiment (hand-countable):
 * - treatment: lift-t-0..39, a hero decision each (odd: spring-shoes, even: travel-bags), 0..9 also
 *   a sidebar decision; t-0..11 convert once, value 10·(i+1) EUR; t-12 converted only *before*
 *   its exposure and t-13 only *after* the window: neither counts;
 * - control: lift-c-0..19, universal holdout (would have got spring-shoes when even); c-0..2
 *   convert, 20 EUR each;
 * - lift-ch: held out of spring-shoes only (campaign holdout): personalised, so treatment in the
 *   universal report and control in the spring-shoes report; no conversion;
 * - lift-mixed: one treatment and one control decision: excluded, reported;
 * - lift-noconsent: no analytics consent on the decision: not measurable, excluded;
 * - lift-early: decided before the window: excluded.
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
  for (let i = 0; i < 12; i++) await insertEvent({ time: T0 + HOUR / 2 + i, type: "conversion", visitorId: `lift-t-${i}`, value: 10 * (i + 1), currency: "EUR" });
  await insertEvent({ time: T0 + 12 * 1000 - 1, type: "conversion", visitorId: "lift-t-12", value: 999, currency: "EUR" });
  await insertEvent({ time: T0 + HOUR, type: "conversion", visitorId: "lift-t-13", value: 999, currency: "EUR" });
  for (let i = 0; i < 3; i++) await insertEvent({ time: T0 + HOUR / 2, type: "conversion", visitorId: `lift-c-${i}`, value: 20, currency: "EUR" });
  for (const v of ["lift-noconsent", "lift-early", "lift-mixed"]) await insertEvent({ time: T0 + HOUR / 2, type: "conversion", visitorId: v, value: 5, currency: "EUR" });
  for (const v of ["lift-t-20", "lift-t-21", "lift-c-5"]) await insertEvent({ time: T0 + HOUR / 2, type: "custom", name: "newsletter_signup", visitorId: v });
})();

type Answer = LiftReport & { filters: Record<string, unknown> };

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
    expect(r.warnings.map((w) => w.code).sort()).toEqual(["mixed_visitors", "sample_ratio_mismatch", "small_sample"]);
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

  it("filters by model", async () => {
    const r = await report("model=someone-else");
    expect(r.treatment.visitors + r.control.visitors).toBe(0);
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
