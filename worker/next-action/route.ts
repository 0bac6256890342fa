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
import { HASH_VERSION } from "../holdout/hash.ts";
import { isHeldOut } from "../holdout/assign.ts";
import { jsonBody, limitBody, requireJson } from "../http/json-body.ts";
import { customerKey, customerObject, type IdentityEnv } from "../identity/keys.ts";
import { customerIdSchema } from "../identity/schema.ts";
import type { AppEnv } from "../services.ts";
import { populationCounts, recordPopulationSend } from "./channel-state.ts";
import { decideNextAction } from "./decide.ts";
import { nextActionAnswer, nextActionRecord } from "./log.ts";

/** The answer while the kill switch is on: the usual shape, no action, reason `kill_switch`. */
function killedAnswer(decisionId: string, moment: string | undefined) {
  return {
    decisionId, channel: null, actionId: null, contentRef: null, sendAt: null, timeZone: null, moment: moment ?? null, holdout: false, scheduled: false, sendTime: null,
    propensities: { channels: {}, actions: {}, action: null, hour: null, chosen: null }, modelVersion: null, reasons: ["kill_switch"], excluded: [],
  };
}

/** A chosen web action: answered, not scheduled (no webhook delivers to a page). */
class WebAction extends Error {}

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
  if (triggerAt > now + 60_000 || triggerAt < now - MAX_PAST_MS) throw new AppError("invalid_request", "triggerAt: within the last 14 days, not in the future");
  const key = await customerKey(c.env as Env & IdentityEnv, body.customerId);
  // The kill switch (worker/kill-switch/) stops outbound decisions with the web slots: no model,
  // nothing reserved or scheduled.
  if ((await services.killSwitch?.())?.on) return c.json(killedAnswer(services.newId(), body.moment), 200, { "cache-control": "no-store" });
  const object = c.env.VISITOR.get(c.env.VISITOR.idFromName(customerObject(key)));
  const [version, state, population, moments] = await Promise.all([
    services.actions.current(),
    object.outboundState(),
    populationCounts(c.env.DB, now),
    body.moment ? services.moments?.current() : undefined,
  ]);
  // The actions the moment's configuration lists are eligible in it too (worker/moments/schema.ts).
  const momentActions = body.moment ? moments?.config.moments.find((m) => m.id === body.moment)?.actions : undefined;
  const decisionId = services.newId();
  const holdout = isHeldOut(key, services.holdout);
  const started = now;
  const result = await decideNextAction(
    { decisionId, customerKey: key, ...(body.moment ? { moment: body.moment } : {}), ...(momentActions ? { momentActions } : {}), triggerAt, now, catalog: version.catalog, traits: state.traits, account: state.account, counts: state.counts, population, holdout },
    { scorer: async () => (await services.models.select(key)).serving, reserve: (input) => object.reserveContact(input), salt: services.holdout.salt, epsilon: services.epsilon },
  );
  let scheduled = false;
  if (result.action && result.timing && !holdout) {
    try {
      // A web action has no webhook: the page shows it when the customer next visits (decide
      // counts that exposure then), so nothing is kept here.
      if (result.action.channel === "web") throw new WebAction();
      const { sendAt, hourOfWeek, method } = result.timing;
      const arm = method === "best" ? "chosen" : method === "explored" ? "explore" : method === "fallback" ? "fallback" : undefined;
      const fallbackHour = hourOfWeek % 24 === version.catalog.policy.sendTime.fallbackHour;
      await services.scheduler.schedule({
        decisionId, customerKey: key, channel: result.action.channel, actionId: result.action.id, contentRef: result.action.contentRef, sendAt,
        ...(body.moment ? { moment: body.moment } : {}),
        ...(arm ? { sendTimeArm: arm, hourOfWeek, fallbackHour } : {}),
      });
      scheduled = true;
    } catch (err) {
      // Never sent, so it must not count against the contact policy or the send-hour counts.
      result.reasons.push(err instanceof WebAction ? "web_in_page" : "not_scheduled");
      await object.releaseContact(decisionId);
    }
    if (scheduled) c.executionCtx.waitUntil(recordPopulationSend(c.env.DB, result.timing.hourOfWeek).catch(() => undefined));
  }
  const record = nextActionRecord(result, { customerKey: key, moment: body.moment, triggerAt, now, holdout, scheduled, catalogVersion: version.version, latencyMs: Math.max(0, services.now() - started), hashVersion: HASH_VERSION });
  c.executionCtx.waitUntil(services.audit.write([record]).catch(() => undefined));
  return c.json(nextActionAnswer(result, { holdout, scheduled, moment: body.moment }), 200, { "cache-control": "no-store" });
});
