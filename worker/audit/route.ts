import { Hono } from "hono";
import { z } from "zod";
import { intParam, queryParams, timeParam } from "../http/query.ts";
import type { AppEnv } from "../services.ts";
import { visitorKey } from "../visitor/key.ts";
import { AppError } from "../errors/app-error.ts";
import { getDecision, listDecisions } from "./query.ts";
import { modelFilter } from "../reports/model.ts";

const listQuery = z.object({
  from: timeParam.optional(),
  to: timeParam.optional(),
  slot: z.string().min(1).max(64).optional(),
  /** The raw visitor id; hashed to its key here, never stored or logged. */
  visitor: z.string().min(1).max(128).optional(),
  block: z.string().min(1).max(64).optional(),
  model: z.string().min(1).max(256).optional(),
  limit: intParam(1, 500).default(50),
  cursor: z.string().min(1).max(512).optional(),
})
  // A misspelt filter (`visitorId=` for `visitor=`) is refused rather than ignored, which would
  // answer every decision as if they were that visitor's.
  .strict()
  .refine((q) => q.from === undefined || q.to === undefined || q.from <= q.to, { message: "from must not be after to", path: ["from"] });

const decisionIdParam = z.string().min(1).max(128);

/**
 * `GET /admin/decisions`: the audit log, filtered, newest first, paginated by `cursor`.
 * `GET /admin/decisions/:id`: one decision's record (the console's "why this block"); 404 when absent.
 */
export const decisionsRoute = new Hono<AppEnv>().get("/:id", async (c) => {
  const id = decisionIdParam.safeParse(c.req.param("id"));
  if (!id.success) throw new AppError("invalid_request", "id: 1 to 128 characters");
  const record = await getDecision(c.env.DB, id.data);
  if (!record) throw new AppError("not_found", `id: no decision ${id.data} in the audit log`);
  return c.json(record, 200, { "cache-control": "no-store" });
}).get("/", queryParams(listQuery), async (c) => {
  const q = c.req.valid("query");
  const page = await listDecisions(c.env.DB, {
    from: q.from,
    to: q.to,
    slot: q.slot,
    visitorKey: q.visitor ? await visitorKey(q.visitor) : undefined,
    blockId: q.block,
    modelVersion: await modelFilter(c.env.DB, q.model),
    limit: q.limit,
    cursor: q.cursor,
  });
  return c.json(page, 200, { "cache-control": "no-store" });
});
