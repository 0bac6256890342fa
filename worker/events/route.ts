import { Hono } from "hono";
import { applyUnsubscribes } from "../activation/feedback.ts";
import { AppError } from "../errors/app-error.ts";
import { limitBody, requireJsonOrText } from "../http/json-body.ts";
import { batchVisitorIds, checkWriteLimits } from "../ratelimit/limits.ts";
import type { AppEnv } from "../services.ts";
import { applyFeedback, consentedFeedback } from "./visitor-feedback.ts";
import { ingestEvents } from "./ingest.ts";
import { EVENTS_MAX_BYTES } from "./limits.ts";

/** Largest body `POST /v1/events` takes, bytes (shared with the client: limits.ts). */
export { EVENTS_MAX_BYTES };

/** `POST /v1/events`: 202 `{ accepted, duplicates, rejected }`. */
export const eventsRoute = new Hono<AppEnv>().post("/", requireJsonOrText(), limitBody(EVENTS_MAX_BYTES), async (c) => {
  let body: unknown;
  try {
    body = JSON.parse(await c.req.text());
  } catch {
    throw new AppError("invalid_json", "body is not valid JSON");
  }
  const services = c.get("services");
  await checkWriteLimits(services.writeLimits, c.req.header("cf-connecting-ip"), batchVisitorIds(body));
  const { stored, ...result } = await ingestEvents(body, { store: services.events, now: services.now });
  const feedback = consentedFeedback(stored);
  if (feedback.length) {
    const defaults = new Set(Object.values((await services.catalog.get()).slots).map((s) => s.defaultBlock));
    c.executionCtx.waitUntil(applyFeedback(c.env, feedback, services.now(), (id) => defaults.has(id)).catch((err) => console.error("applying events to visitor state failed:", err)));
  }
  // Unsubscribes from an outbound channel turn its opt-in off (after the answer; rare, so the
  // common path reads nothing).
  if (stored.some((s) => s.event.type === "unsubscribed")) {
    c.executionCtx.waitUntil(applyUnsubscribes(c.env, stored).catch((err) => console.error("applying unsubscribes failed:", err)));
  }
  return c.json(result, 202, { "cache-control": "no-store" });
});
