import { Hono } from "hono";
import { z } from "zod";
import { controlShare, loadCampaignHoldouts } from "../holdout/campaign.ts";
import { AppError } from "../errors/app-error.ts";
import { queryParams, timeParam } from "../http/query.ts";
import type { AppEnv } from "../services.ts";
import { visitorRetentionWarning } from "../retention/retention.ts";
import { liftReport } from "./lift.ts";
import { resolveModelVersion } from "./model.ts";
import { kpiExists, knownKpis, liftData, reportWindow } from "./query.ts";

const DAY_MS = 86_400_000;

const liftQuery = z
  .object({
    from: timeParam.optional(),
    to: timeParam.optional(),
    slot: z.string().min(1).max(64).optional(),
    campaign: z.string().min(1).max(64).optional(),
    model: z.string().min(1).max(256).optional(),
    /** `conversion` (default), `click`, `impression`, or a custom event's name. */
    kpi: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/).default("conversion"),
    currency: z.string().regex(/^[A-Z]{3}$/).optional(),
    confidence: z.coerce.number().gt(0.5).lt(1).default(0.95),
    /** Overrides the configured control share for the SRM check. */
    controlShare: z.coerce.number().gt(0).lt(1).optional(),
  })
  .refine((q) => q.from === undefined || q.to === undefined || q.from < q.to, { message: "from must be before to", path: ["from"] });

/** What the counts of a group mean for this KPI (the field names stay the same for every KPI). */
function kpiLabels(kpi: string) {
  return {
    visitors: "visitors exposed in the window (first exposure in the window)",
    conversions: `visitors with at least one ${kpi} event from their first exposure to the end of the window`,
    kpiEvents: `${kpi} events from the first exposure to the end of the window`,
    revenue: "value of conversion events from the first exposure to the end of the window",
  };
}

/** The estimators behind the figures (worker/stats/), named so a reader can check them. */
export const LIFT_METHODS = {
  rate: "Wilson score interval",
  absoluteLift: "Newcombe hybrid score interval (method 10) of the rate difference",
  relativeLift: "log risk-ratio (Katz) interval",
  pValue: "pooled two-proportion z-test, two-sided",
  revenuePerVisitor: "Welch interval of the difference of means",
  srm: "Pearson chi-square goodness of fit to the configured split, alpha 0.001",
  minimumDetectableLift: "two-sided test at 1 - confidence with 80% power at the control's rate",
};

/**
 * `GET /admin/reports/lift`: treatment vs control with intervals, p-value and SRM check, read from
 * the aggregates (worker/aggregates/). The window is whole UTC days (`filters` shows the one used).
 * `model` takes a model id, a 12-digit prefix or a version; a custom `kpi` without any event is a
 * 422 listing the KPIs that have events.
 */
export const reportsRoute = new Hono<AppEnv>().get("/lift", queryParams(liftQuery), async (c) => {
  const q = c.req.valid("query");
  const services = c.get("services");
  const db = c.env.DB;
  const requestedTo = q.to ?? services.now();
  const { from, to, fromDay } = reportWindow(q.from ?? requestedTo - 30 * DAY_MS, requestedTo);
  if (!(await kpiExists(db, q.kpi))) {
    throw new AppError("unknown_kpi", `kpi: no "${q.kpi}" events; KPIs with events: ${(await knownKpis(db)).join(", ")}`);
  }
  const modelVersion = q.model === undefined ? undefined : await resolveModelVersion(db, q.model);
  // The configured split: the universal control group, combined with the campaign's own holdout.
  const campaignRate = q.campaign ? (await loadCampaignHoldouts(c.env.CONFIG)).campaigns[q.campaign]?.rate ?? 0 : 0;
  const expectedControlShare = q.controlShare ?? controlShare(services.holdout.rate, campaignRate);
  const data = await liftData(db, { from, to, slot: q.slot, campaign: q.campaign, modelVersion, kpi: q.kpi, currency: q.currency });
  const report = liftReport(data.treatment, data.control, {
    expectedControlShare,
    confidence: q.confidence,
    mixedVisitors: data.mixedVisitors,
    currencies: q.currency ? [q.currency] : data.currencies,
  });
  // The daily cron deletes visitor-level aggregates older than AGG_VISITOR_DAYS: say so when the
  // window reaches before them, rather than count fewer visitors silently.
  const retention = visitorRetentionWarning(c.env, services.now(), fromDay, "visitors first exposed");
  if (retention) report.warnings.push(retention);
  return c.json(
    {
      filters: { from, to, slot: q.slot ?? null, campaign: q.campaign ?? null, model: q.model ?? null, modelVersion: modelVersion ?? null, kpi: q.kpi, currency: q.currency ?? null },
      kpi: { name: q.kpi, counts: kpiLabels(q.kpi) },
      methods: LIFT_METHODS,
      ...report,
    },
    200,
    { "cache-control": "no-store" },
  );
});
