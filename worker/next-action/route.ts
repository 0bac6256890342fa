/**
 * `POST /v1/next-action`: the next action for a customer, server to server.
 *
 * Trust model: the body names a customer id and the answer reveals what we know about how to
 * reach them, so only the site's backend may ask: `Authorization: Bearer <NEXT_ACTION_TOKEN>`
 * (a Worker secret, so the backend needs no admin token) or the admin token. Browsers never call it.
 *
 * Body: `{ customerId, moment?, triggerAt? }` (triggerAt: ISO 8601 or epoch ms, default now; the
 * service-level window runs from it). Answer: decisionId, channel, actionId, contentRef, sendAt
 * (ISO 8601 with the customer's offset), propensities, holdout, reasons, excluded (with codes).
 * A held-out customer gets no message (channel null, `counterfactual` says what they would have
 * got). The decision is logged through the log queue (worker/audit/record.ts `nextAction`).
 */
import { Hono } from "hono";
import { z } from "zod";
import { hasAdminToken } from "../admin/auth.ts";
import { AppError } from "../errors/app-error.ts";
import { jsonBody, limitBody, requireJson } from "../http/json-body.ts";
import { customerKey, type IdentityEnv } from "../identity/keys.ts";
import { customerIdSchema } from "../identity/schema.ts";
import type { AppEnv } from "../services.ts";
import { runNextAction } from "./run.ts";

const momentId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/);
const MAX_PAST_MS = 14 * 86_400_000;

export const nextActionRequestSchema = z
  .object({
    customerId: customerIdSchema,
    moment: momentId.optional(),
    triggerAt: z.union([z.iso.datetime({ offset: true }).transform((s) => Date.parse(s)), z.number().int().nonnegative()]).optional(),
  })
  .strict();

export const nextActionRoute = new Hono<AppEnv>().post("/", async (c, next) => {
  const env = c.env as Env & { NEXT_ACTION_TOKEN?: string };
  const auth = c.req.header("authorization");
  if (!hasAdminToken(auth, env.NEXT_ACTION_TOKEN) && !hasAdminToken(auth, env.ADMIN_TOKEN)) throw new AppError("unauthorized", "next-action is server to server: Authorization: Bearer <NEXT_ACTION_TOKEN> (or the admin token)");
  await next();
}, requireJson(), limitBody(4 * 1024), jsonBody(nextActionRequestSchema), async (c) => {
  const body = c.req.valid("json");
  const services = c.get("services");
  const now = services.now();
  const triggerAt = body.triggerAt ?? now;
  if (triggerAt > now + 60_000 || triggerAt < now - MAX_PAST_MS) throw new AppError("invalid_request", "triggerAt: within the last 14 days and at most a minute ahead");
  const key = await customerKey(c.env as Env & IdentityEnv, body.customerId);
  const answer = await runNextAction(c.env, services, { customerKey: key, ...(body.moment ? { moment: body.moment } : {}), triggerAt }, (work) => c.executionCtx.waitUntil(work));
  return c.json(answer, 200, { "cache-control": "no-store" });
});
