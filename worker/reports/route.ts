import { Hono } from "hono";
import { z } from "zod";
import { controlShare, loadCampaignHoldouts } from "../holdout/campaign.ts";
import { queryParams, timeParam } from "../http/query.ts";
import type { AppEnv } from "../services.ts";
import { liftReport } from "./lift.ts";
import { liftData } from "./query.ts";

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

/** `GET /admin/reports/lift`: treatment vs control with intervals, p-value and SRM check. */
export const reportsRoute = new Hono<AppEnv>().get("/lift", queryParams(liftQuery), async (c) => {
  const q = c.req.valid("query");
  const services = c.get("services");
  const to = q.to ?? services.now();
  const from = q.from ?? to - 30 * DAY_MS;
  // The configured split: the universal control group, combined with the campaign's own holdout.
  const campaignRate = q.campaign ? (await loadCampaignHoldouts(c.env.CONFIG)).campaigns[q.campaign]?.rate ?? 0 : 0;
  const expectedControlShare = q.controlShare ?? controlShare(services.holdout.rate, campaignRate);
  const data = await liftData(c.env.DB, { from, to, slot: q.slot, campaign: q.campaign, modelVersion: q.model, kpi: q.kpi, currency: q.currency });
  const report = liftReport(data.treatment, data.control, {
    expectedControlShare,
    confidence: q.confidence,
    mixedVisitors: data.mixedVisitors,
    currencies: q.currency ? [q.currency] : data.currencies,
  });
  return c.json(
    { filters: { from, to, slot: q.slot ?? null, campaign: q.campaign ?? null, model: q.model ?? null, kpi: q.kpi, currency: q.currency ?? null }, ...report },
    200,
    { "cache-control": "no-store" },
  );
});
