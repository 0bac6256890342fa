import { Hono } from "hono";
import { z } from "zod";
import { queryParams, timeParam } from "../http/query.ts";
import type { AppEnv } from "../services.ts";
import { prepareLakeForReading } from "../lake/logged.ts";
import { lakeLoggedDecisions } from "../lake/read.ts";
import { toLine } from "./line.ts";
import { modelFilter } from "../reports/model.ts";

const exportQuery = z.object({
  from: timeParam.default(0),
  to: timeParam.optional(),
  slot: z.string().min(1).max(64).optional(),
  model: z.string().min(1).max(256).optional(),
  /** `false` leaves out control-group decisions. */
  holdout: z.enum(["true", "false"]).default("true"),
});

/**
 * `GET /admin/export`: logged decisions with features, candidates, choice, propensity and
 * outcomes as JSON Lines, oldest first. Read from the Parquet lake (worker/lake/), caught up
 * with D1 first, file by file and streamed a page at a time, so an export of any size never
 * sits in memory whole and never scans D1.
 */
export const exportRoute = new Hono<AppEnv>().get("/", queryParams(exportQuery), async (c) => {
  const q = c.req.valid("query");
  const now = c.get("services").now();
  const to = q.to ?? now;
  const filter = { from: q.from, to, slot: q.slot, modelVersion: await modelFilter(c.env.DB, q.model), includeHoldout: q.holdout === "true" };
  // Catch the lake up with D1 and apply pending erasures before answering: a failure is an error
  // status, not a cut stream.
  await prepareLakeForReading(c.env, now);
  const pages = lakeLoggedDecisions(c.env.LAKE, filter);
  const encoder = new TextEncoder();
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const next = await pages.next();
        if (next.done) controller.close();
        else controller.enqueue(encoder.encode(next.value.map(toLine).join("")));
      } catch (err) {
        // The status is already sent; failing the stream makes the client see a broken transfer
        // instead of a silently truncated file.
        console.error("export failed", err);
        controller.error(err);
      }
    },
    async cancel() {
      await pages.return(undefined);
    },
  });
  return c.body(stream, 200, {
    "content-type": "application/x-ndjson; charset=utf-8",
    "content-disposition": `attachment; filename="nextbest-decisions-${q.from}-${to}.jsonl"`,
    "cache-control": "no-store",
  });
});
