import { Hono } from "hono";
import { z } from "zod";
import { AppError, formatZodError } from "../errors/app-error.ts";
import type { AppEnv } from "../services.ts";
import { eraseCustomer, eraseCustomerObject, linkedCustomer } from "../identity/erase.ts";
import { customerIdSchema } from "../identity/schema.ts";
import { visitorKey } from "../visitor/key.ts";
import { eraseVisitor, erasureTargets } from "./erase.ts";

const visitorId = z.string().min(1).max(128);

/**
 * `DELETE /admin/visitors/:id`: removes the visitor's events, audit rows and Durable Object state, and
 * rewrites guardrail versions that still hold the raw id to its key. 200 with `complete`, `removed`
 * per store and `notRemoved` (store and reason: a failure to retry, or a key kept on a
 * suppression list). For a visitor linked to a customer, the customer too (`customer`: every
 * linked visitor, the profile), as `DELETE /admin/customers/:id` does.
 */
export const erasureRoute = new Hono<AppEnv>().delete("/:id", async (c) => {
  const id = visitorId.safeParse(c.req.param("id"));
  if (!id.success) throw new AppError("invalid_request", formatZodError(id.error, "id"));
  const targets = erasureTargets(c.env);
  // Read before the visitor's object is erased (the link is in it).
  const customer = await linkedCustomer(c.env, await visitorKey(id.data));
  const result = await eraseVisitor(id.data, targets);
  return c.json({ ...result, ...(customer ? { customer: await eraseCustomerObject(c.env, customer, targets) } : {}) }, 200, { "cache-control": "no-store" });
});

/**
 * `DELETE /admin/customers/:id`: the customer's profile and object, and every visitor linked to
 * them, from every store (lake rows with the next cron pass).
 */
export const customerErasureRoute = new Hono<AppEnv>().delete("/:id", async (c) => {
  const id = customerIdSchema.safeParse(c.req.param("id"));
  if (!id.success) throw new AppError("invalid_request", formatZodError(id.error, "id"));
  return c.json(await eraseCustomer(c.env, id.data, erasureTargets(c.env)), 200, { "cache-control": "no-store" });
});
