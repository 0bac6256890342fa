import { Hono } from "hono";
import { z } from "zod";
import { queryParams, timeParam } from "../http/query.ts";
import type { AppEnv } from "../services.ts";
import { contentReport } from "./content.ts";
import { contentData } from "./content-query.ts";

const DAY_MS = 86_400_000;

const contentQuery = z
  .object({
    from: timeParam.optional(),
    to: timeParam.optional(),
    confidence: z.coerce.number().gt(0.5).lt(1).default(0.95),
    /** Significance of the fatigue flag (default 0.01, split over its two tests). */
    alpha: z.coerce.number().gt(0).lt(0.5).default(0.01),
    /** Impressions each compared group needs before a block can be flagged (default 100). */
    minImpressions: z.coerce.number().int().min(1).max(1_000_000).default(100),
  })
  .refine((q) => q.from === undefined || q.to === undefined || q.from < q.to, { message: "from must be before to", path: ["from"] });

/**
 * `GET /admin/reports/content`: per block and campaign impressions, clicks, CTR, conversions, CVR
 * and revenue with intervals; creative fatigue and the "refresh this creative" list; blocks never
 * eligible and starved slots ("not enough eligible options"). Whole UTC days, default the last 28,
 * read from the aggregates only (docs/API.md).
 */
export const contentReportRoute = new Hono<AppEnv>().get("/content", queryParams(contentQuery), async (c) => {
  const q = c.req.valid("query");
  const services = c.get("services");
  const to = q.to ?? services.now();
  const [data, catalog] = await Promise.all([contentData(c.env.DB, q.from ?? to - 28 * DAY_MS, to), services.catalog.get()]);
  const report = contentReport(data, catalog, { confidence: q.confidence, alpha: q.alpha, minImpressions: q.minImpressions });
  return c.json(
    {
      filters: { from: new Date(data.from).toISOString(), to: new Date(data.to).toISOString(), confidence: q.confidence, alpha: q.alpha, minImpressions: q.minImpressions },
      methods: {
        rates: "Wilson score interval (CTR = clicks/impressions, CVR = conversions/impressions)",
        revenue: "normal-approximation interval of revenue per impression (Σv, Σv² of conversions), × impressions for the total",
        fatigue: "Cochran–Armitage trend test, one-sided (falling), across views 1/2/3+ and across weeks; flagged when p < alpha/2 (Bonferroni) with minImpressions in the groups compared",
      },
      ...report,
    },
    200,
    { "cache-control": "no-store" },
  );
});
