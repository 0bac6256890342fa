/**
 * `POST /v1/consent`: the client script tells the Worker that the visitor revoked consent. What
 * the withdrawn purposes covered is erased at once: without `personalization`, the visitor's
 * Durable Object state (exposures, session) and decision audit rows; without `analytics`, their
 * events. Nothing is stored by this call.
 */
import { Hono } from "hono";
import { z } from "zod";
import { erasureTargets } from "../erasure/erase.ts";
import { jsonBody, limitBody, requireJson } from "../http/json-body.ts";
import type { AppEnv } from "../services.ts";
import { visitorKey } from "../visitor/key.ts";

export const consentUpdateSchema = z.object({
  visitorId: z.string().min(1).max(128),
  consent: z.object({ personalization: z.boolean(), analytics: z.boolean() }).catchall(z.boolean()),
});

export const consentRoute = new Hono<AppEnv>().post("/", requireJson(), limitBody(4 * 1024), jsonBody(consentUpdateSchema), async (c) => {
  const { visitorId, consent } = c.req.valid("json");
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
