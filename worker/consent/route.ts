/**
 * `POST /v1/consent`: the client script tells the Worker that the visitor revoked consent. What
 * the withdrawn purposes covered is erased at once: without `personalization`, the visitor's
 * Durable Object state (exposures, session) and decision audit rows; without `analytics`, their
 * events. For a visitor linked to a customer (identify), withdrawing personalisation applies to the
 * customer: their object is erased and serves defaults to every device, and the logs of every
 * linked visitor (and the customer's own next-action decisions and device links) are erased,
 * and their pending outbound actions cancelled. Nothing is stored by this call, and a visitor with
 * no state gets none (the Durable Object creates its tables on its first write only). Rate limited
 * (worker/ratelimit/).
 */
import { Hono } from "hono";
import { z } from "zod";
import { cancelOnConsentWithdrawal } from "../activation/withdrawal.ts";
import { erasureTargets } from "../erasure/erase.ts";
import { eraseDeviceLinks } from "../identity/devices.ts";
import { linkedCustomer } from "../identity/erase.ts";
import { limitBody, parseJsonText, requireJsonOrText } from "../http/json-body.ts";
import { checkWriteLimits } from "../ratelimit/limits.ts";
import type { AppEnv } from "../services.ts";
import { customerKeyOf } from "../identity/keys.ts";
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
  // Consent follows identity: a withdrawal on one device of a customer applies to all of them.
  const customer = await linkedCustomer(c.env, key);
  let keys = [key];
  if (customer && !consent.personalization) {
    const { visitors, records } = await c.env.VISITOR.get(c.env.VISITOR.idFromName(customer)).withdraw();
    erased.visitorState += records;
    // linkedCustomer names a customer object, so the key is there.
    const customerKey = customerKeyOf(customer)!;
    // The customer's object no longer lists its devices: nor does D1's copy (worker/identity/devices.ts).
    await eraseDeviceLinks(c.env.DB, customerKey);
    // The customer key too: next-action decisions (and their outbound moment aggregates) are
    // logged under it, as DELETE /admin/customers/:id erases them (worker/identity/erase.ts).
    keys = [...new Set([key, ...visitors, customerKey])];
    // What was scheduled from the now-erased profile is not sent either.
    await cancelOnConsentWithdrawal(c.env, customerKey);
  }
  for (const k of keys) {
    if (!consent.personalization) {
      // The other devices keep only their link (their history is the customer's, erased above):
      // it makes them serve the withdrawn customer's defaults.
      if (k === key) erased.visitorState += await targets.visitorState(k);
      erased.decisions += await targets.decisions(k);
    }
    if (!consent.analytics) erased.events += await targets.events(k);
  }
  return c.json({ erased }, 202, { "cache-control": "no-store" });
});
