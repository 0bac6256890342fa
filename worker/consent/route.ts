/**
 * `POST /v1/consent`: the client script tells the Worker that the visitor revoked consent. What
 * the withdrawn purposes covered is erased at once: without `personalization`, the visitor's
 * Durable Object state (exposures, session) and decision audit rows; without `analytics`, their
 * events. Nothing is stored by this call, and a visitor with no state gets none (the Durable
 * Object creates its tables on its first write only). Rate limited (worker/ratelimit/).
 */
import { Hono } from "hono";
import { z } from "zod";
import { erasureTargets } from "../erasure/erase.ts";
import { limitBody, parseJsonText, requireJsonOrText } from "../http/json-body.ts";
import { checkWriteLimits } from "../ratelimit/limits.ts";
import type { AppEnv } from "../services.ts";
import { visitorKey } from "../visitor/key.ts";

export const consentUpdateSchema = z.object({
  visitorId: z.string().min(1).max(128),
  consent: z.object({ personalization: z.boolean(), analytics: z.boolean() }).catchall(z.boolean()),
});

/** JSON or `text/plain`, so a cross-origin keepalive request needs no CORS preflight. */
export const consentRoute = new Hono<AppEnv>().post("/", requireJsonOrText(), limitBody(4 * 1024), async (c) => {
  const { visitorId, consent } = await parseJsonText(await c.req.text(), consentUpdateSchema);
  await checkWriteLimits(c.get("services").writeLimits, c.req.header("cf-connecting-ip"), [visitorId]);
  const key = await visitorKey(visitorId);
  const targets = erasureTargets(c.env);
  const erased = { visitorState: 0, decisions: 0, events: 0 };
  if (!consent.personalization) {
    erased.visitorState = await targets.visitorState(key);
    erased.decisions = await targets.decisions(key);
  }
  if (!consent.analytics) erased.events = await targets.events(key);
  return c.json({ erased }, 202, { "cache-control": "no-store" });
});
