import { Hono } from "hono";
import { hasAdminToken } from "../admin/auth.ts";
import { AppError } from "../errors/app-error.ts";
import { jsonBody, limitBody, requireJson } from "../http/json-body.ts";
import { withMappedBlockLinks } from "../proxy/page-links.ts";
import { checkWriteLimits } from "../ratelimit/limits.ts";
import type { AppEnv } from "../services.ts";
import { decideWithServices, requestCountry } from "./run.ts";
import { decideRequestSchema, type DecideResponse } from "./schema.ts";

/** Largest decide body accepted (signals for 10 slots fit in a few KB). */
export const DECIDE_MAX_BYTES = 32 * 1024;

/** `POST /v1/decide`. */
export const decideRoute = new Hono<AppEnv>().post(
  "/",
  requireJson(),
  limitBody(DECIDE_MAX_BYTES),
  jsonBody(decideRequestSchema),
  async (c) => {
    const services = c.get("services");
    const request = c.req.valid("json");
    await checkWriteLimits(services.writeLimits, c.req.header("cf-connecting-ip"), [request.visitorId]);
    // Rule outcomes and scores explain the catalog and the model: admins only.
    if (request.debug && !hasAdminToken(c.req.header("authorization"), c.env.ADMIN_TOKEN)) {
      throw new AppError("unauthorized", "debug: true needs Authorization: Bearer <ADMIN_TOKEN>");
    }
    const result = await decideWithServices(request, services, (work) => c.executionCtx.waitUntil(work), requestCountry(c.req.raw));
    // On a page the proxy serves, the blocks nb.js fills link where the edge's would (page-links.ts).
    const decisions = withMappedBlockLinks(result.decisions, c.env as unknown as Record<string, string>, c.req.url, request.context?.url);
    const body: DecideResponse = { decisions };
    if (request.debug) Object.assign(body, { debug: { recorded: result.recorded, guardrailsVersion: result.guardrailsVersion, arm: result.arm, slots: result.debug, traces: result.traces } });
    return c.json(body, 200, { "cache-control": "no-store" });
  },
);
