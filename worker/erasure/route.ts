import { Hono } from "hono";
import { z } from "zod";
import { AppError, formatZodError } from "../errors/app-error.ts";
import type { AppEnv } from "../services.ts";
import { eraseVisitor, erasureTargets } from "./erase.ts";

const visitorId = z.string().min(1).max(128);

/**
 * `DELETE /admin/visitors/:id`: removes the visitor's events, audit rows and Durable Object state, and
 * rewrites guardrail versions that still hold the raw id to its key. 200 with `complete`, `removed`
 * per store and `notRemoved` (store and reason: a failure to retry, or a key kept on a
 * suppression list).
 */
export const erasureRoute = new Hono<AppEnv>().delete("/:id", async (c) => {
  const id = visitorId.safeParse(c.req.param("id"));
  if (!id.success) throw new AppError("invalid_request", formatZodError(id.error, "id"));
  return c.json(await eraseVisitor(id.data, erasureTargets(c.env)), 200, { "cache-control": "no-store" });
});
