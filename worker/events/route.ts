import { Hono } from "hono";
import { AppError } from "../errors/app-error.ts";
import { limitBody, requireJsonOrText } from "../http/json-body.ts";
import type { AppEnv } from "../services.ts";
import { consentedConversions, markConversions } from "./conversions.ts";
import { ingestEvents } from "./ingest.ts";

/** 100 events of a few hundred bytes each, with room to spare. */
export const EVENTS_MAX_BYTES = 128 * 1024;

/** `POST /v1/events`: 202 `{ accepted, duplicates, rejected }`. */
export const eventsRoute = new Hono<AppEnv>().post("/", requireJsonOrText(), limitBody(EVENTS_MAX_BYTES), async (c) => {
  let body: unknown;
  try {
    body = JSON.parse(await c.req.text());
  } catch {
    throw new AppError("invalid_json", "body is not valid JSON");
  }
  const services = c.get("services");
  const result = await ingestEvents(body, { store: services.events, now: services.now });
  const conversions = result.accepted > 0 ? consentedConversions(body).slice(0, 100) : [];
  if (conversions.length) {
    c.executionCtx.waitUntil(markConversions(c.env, conversions, services.now()).catch((err) => console.error("marking conversions failed:", err)));
  }
  return c.json(result, 202, { "cache-control": "no-store" });
});
