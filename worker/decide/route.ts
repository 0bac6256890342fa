import { Hono } from "hono";
import { jsonBody, limitBody, requireJson } from "../http/json-body.ts";
import type { AppEnv } from "../services.ts";
import { decide } from "./decide.ts";
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
    const decisions = await decide(request, {
      catalog: await services.catalog.get(),
      models: (visitorId) => services.models.select(visitorId),
      newId: services.newId,
      holdout: services.holdout,
      epsilon: services.epsilon,
    });
    return c.json({ decisions } satisfies DecideResponse, 200, { "cache-control": "no-store" });
  },
);
