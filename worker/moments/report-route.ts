import { Hono } from "hono";
import { z } from "zod";
import { queryParams, timeParam } from "../http/query.ts";
import { visitorRetentionWarning } from "../retention/retention.ts";
import type { AppEnv } from "../services.ts";
import { momentReport } from "./report.ts";

const DAY_MS = 86_400_000;

const momentsQuery = z
  .object({
    from: timeParam.optional(),
    to: timeParam.optional(),
    moment: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/).optional(),
    confidence: z.coerce.number().gt(0.5).lt(1).default(0.95),
  })
  .refine((q) => q.from === undefined || q.to === undefined || q.from < q.to, { message: "from must be before to", path: ["from"] });

/**
 * `GET /admin/reports/moments[?moment=&from=&to=&confidence=]`: `byMoment`, per moment its KPI,
 * the lift (treatment vs universal control, the lift report's figures) on that KPI within its
 * attribution window, the same for outbound decisions by customer (`outbound`), and content (per block and group: decisions, impressions, clicks, CTR,
 * KPI events). Whole UTC days, default the last 30; from the aggregates only (./report.ts).
 * `warnings` names a window that starts before the visitor-level aggregates retention keeps.
 */
export const momentsReportRoute = new Hono<AppEnv>().get("/moments", queryParams(momentsQuery), async (c) => {
  const q = c.req.valid("query");
  const services = c.get("services");
  const to = q.to ?? services.now();
  const configured = (await services.moments?.current())?.config.moments.map((m) => m.id) ?? [];
  const report = await momentReport(c.env.DB, { from: q.from ?? to - 30 * DAY_MS, to, ...(q.moment ? { moment: q.moment } : {}), moments: configured, expectedControlShare: services.holdout.rate, confidence: q.confidence });
  // As the lift report: the window reaching before the visitor-level aggregates the cron keeps.
  const retention = visitorRetentionWarning(c.env, services.now(), new Date(report.from).toISOString().slice(0, 10), "visitors and customers first in a moment");
  const warnings = retention ? [retention] : [];
  return c.json(
    {
      warnings,
      filters: { from: new Date(report.from).toISOString(), to: new Date(report.to).toISOString(), moment: q.moment ?? null, confidence: q.confidence },
      methods: {
        lift: "per moment, visitors from their first decision in the moment; converted = a KPI event within the moment's attribution window; Newcombe (Wilson) interval of the rate difference, Welch for revenue per visitor, χ² SRM check (as GET /admin/reports/lift)",
        outbound: "per moment, customers from their first next-action decision in the moment; converted = a KPI event from any device linked to them (identify) or their channel feedback within the moment's attribution window; treatment = never held out, control = always held out (no message); the same estimators as lift",
        ctr: "Wilson score interval of clicks/impressions",
      },
      byMoment: report.byMoment,
    },
    200,
    { "cache-control": "no-store" },
  );
});
