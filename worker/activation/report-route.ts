import { Hono } from "hono";
import { z } from "zod";
import { queryParams } from "../http/query.ts";
import type { AppEnv } from "../services.ts";
import { activationCells, channelReport } from "./report.ts";
import { OUTBOUND_CHANNELS } from "./types.ts";

const query = z.object({
  channel: z.enum(OUTBOUND_CHANNELS).optional(),
  confidence: z.coerce.number().gt(0.5).lt(1).default(0.95),
});

/**
 * `GET /admin/reports/channels?channel=&confidence=`: engagement per channel, per local hour of
 * week and per send-time arm, and the send-time lift (worker/activation/report.ts names methods
 * and sources). All time, from the aggregates only.
 */
export const channelReportRoute = new Hono<AppEnv>().get("/channels", queryParams(query), async (c) => {
  const q = c.req.valid("query");
  const report = channelReport(await activationCells(c.env.DB, q.channel), q.confidence);
  return c.json({
    filters: { channel: q.channel ?? null, confidence: q.confidence },
    methods: {
      engagementRate: "engaged (opened or clicked, once per message) / sent (webhook answered 2xx); Wilson score interval (Wilson 1927)",
      sendTimeLift:
        "engagement at the model's chosen hour (arm chosen) minus engagement of the exploration arm's messages at the fallback hour (arm explore, fallbackHour); Newcombe (1998) hybrid score interval, method 10; relative lift: Katz log risk-ratio interval; p: pooled two-proportion z-test",
    },
    ...report,
  });
});
