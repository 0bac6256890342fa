import { Hono } from "hono";
import { applyUnsubscribes, optOutsIn } from "../activation/feedback.ts";
import type { Channel } from "../actions/channels.ts";
import { recordEngagement, setChannelOptIn } from "../next-action/channel-state.ts";

/** Channel feedback that acts on the customer (opt-in, send-hour engagement). */
const CUSTOMER_FEEDBACK = new Set(["unsubscribed", "opened", "clicked"]);
import { AppError } from "../errors/app-error.ts";
import { limitBody, requireJsonOrText } from "../http/json-body.ts";
import { batchVisitorIds, checkWriteLimits } from "../ratelimit/limits.ts";
import type { AppEnv } from "../services.ts";
import { applyFeedback, consentedFeedback } from "./visitor-feedback.ts";
import { ingestEvents } from "./ingest.ts";
import { EVENTS_MAX_BYTES } from "./limits.ts";
import { applyMomentEvents, momentEventsFrom } from "../moments/index.ts";

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
  // Moments (worker/moments/): only events some moment reads, sent with personalisation consent.
  const moments = stored.length ? (await services.moments?.current())?.config : undefined;
  const forMoments = moments ? momentEventsFrom(stored, moments, services.now()) : undefined;
  if (moments && forMoments?.size) {
    c.executionCtx.waitUntil(applyMomentEvents(c.env, forMoments, moments, services.now()).catch((err) => console.error("applying events to moments failed:", err)));
  }
  // Channel feedback on outbound actions (after the answer; rare, so the common path reads
  // nothing): unsubscribes turn the channel's opt-in off, opens and clicks count for send time.
  // An unsubscribe is obeyed even when it may not be stored (no analytics consent).
  const acting = [...stored.filter((s) => CUSTOMER_FEEDBACK.has(s.event.type)), ...optOutsIn(body).filter((o) => !stored.some((s) => s.event.type === "unsubscribed" && s.event.decisionId === o.event.decisionId))];
  if (acting.length) {
    const optIn = (key: string, channel: string, on: boolean) => setChannelOptIn(c.env, key, channel as Channel, on);
    const at = services.now();
    const engaged = (key: string, kind: "opened" | "clicked", decisionId: string) => recordEngagement(c.env, { customerKey: key, kind, decisionId, at });
    c.executionCtx.waitUntil(applyUnsubscribes(c.env, acting, optIn, engaged).catch((err) => console.error("applying channel feedback failed:", err)));
  }
  return c.json(result, 202, { "cache-control": "no-store" });
});
