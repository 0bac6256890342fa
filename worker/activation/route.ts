/**
 * Admin routes of activation (behind the bearer token, mounted in worker/app.ts):
 * - `GET /admin/channels`, `GET|PUT /admin/channels/:channel`, `GET /admin/channels/:channel/versions`:
 *   webhook configuration, versioned with who (`X-Nextbest-Actor`) and when; never the secret;
 * - `GET /admin/deliveries?decisionId=&state=&channel=&limit=`: scheduled actions with their attempts;
 * - `POST /admin/deliveries`: schedules an action by hand (an API-triggered send), `POST
 *   /admin/deliveries/cancel`: cancels a customer's pending actions (an exit rule outside nextbest).
 */
import { actorOf } from "../admin/actor.ts";
import { Hono, type Context } from "hono";
import { z } from "zod";
import { AppError } from "../errors/app-error.ts";
import { jsonBody, limitBody, requireJson } from "../http/json-body.ts";
import { intParam, queryParams } from "../http/query.ts";
import { customerKey } from "../identity/keys.ts";
import type { AppEnv } from "../services.ts";
import { channelConfigSchema, channelVersions, isOutboundChannel, listChannels, readChannel, saveChannel, signingSecret, type ChannelConfig } from "./channels.ts";
import { cancelActions, scheduleAction } from "./schedule.ts";
import { ACTION_STATES, MAX_SEND_AT, OUTBOUND_CHANNELS, SEND_TIME_ARMS } from "./types.ts";


/** A channel as answered: the configuration, and whether its secret is set (never its value). */
const view = (env: Env, cfg: ChannelConfig) => ({ ...cfg, secretConfigured: signingSecret(env, cfg.secretName) !== undefined });

function channelParam(c: Context<AppEnv>): (typeof OUTBOUND_CHANNELS)[number] {
  const channel = c.req.param("channel") ?? "";
  if (!isOutboundChannel(channel)) throw new AppError("not_found", `no outbound channel ${JSON.stringify(channel.slice(0, 40))}; one of ${OUTBOUND_CHANNELS.join(", ")}`);
  return channel;
}

/** `/admin/channels`. */
export const channelsRoute = new Hono<AppEnv>()
  .get("/", async (c) => c.json({ channels: (await listChannels(c.env.DB)).map((cfg) => view(c.env, cfg)) }))
  .get("/:channel", async (c) => {
    const cfg = await readChannel(c.env.DB, channelParam(c));
    if (!cfg) throw new AppError("not_found", `channel ${c.req.param("channel")} has no webhook configured`);
    return c.json(view(c.env, cfg));
  })
  .get("/:channel/versions", async (c) => c.json({ versions: await channelVersions(c.env.DB, channelParam(c)) }))
  .put("/:channel", requireJson(), limitBody(8 * 1024), jsonBody(channelConfigSchema, "invalid_config"), async (c) => {
    const saved = await saveChannel(c.env.DB, channelParam(c), c.req.valid("json"), actorOf(c), c.get("services").now());
    return c.json(view(c.env, saved));
  });

const deliveriesQuery = z.object({
  decisionId: z.string().min(1).max(128).optional(),
  state: z.enum(ACTION_STATES).optional(),
  channel: z.enum(OUTBOUND_CHANNELS).optional(),
  limit: intParam(1, 500).default(100),
});

const ident = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/, "letters, digits, _ . : - (max 128)");

/** Body of `POST /admin/deliveries`: a raw customer id, keyed before anything is stored. */
const manualSchema = z.object({
  decisionId: ident.optional(),
  customerId: z.string().min(1).max(256),
  channel: z.enum(OUTBOUND_CHANNELS),
  actionId: ident,
  contentRef: z.string().min(1).max(512),
  /** ISO 8601 or epoch ms. */
  sendAt: z
    .union([z.number().int().nonnegative(), z.string().datetime({ offset: true }).transform((s) => Date.parse(s))])
    .pipe(z.number().max(MAX_SEND_AT, "before 2100 (a Durable Object alarm cannot be set later)")),
  moment: ident.optional(),
  sendTimeArm: z.enum(SEND_TIME_ARMS).optional(),
  hourOfWeek: z.number().int().min(0).max(167).optional(),
  fallbackHour: z.boolean().optional(),
}).strict();

const cancelSchema = z.object({ customerId: z.string().min(1).max(256), moment: ident.optional(), reason: z.string().min(1).max(200) }).strict();

interface ActionRow { decision_id: string; [k: string]: unknown }
interface AttemptRow { decision_id: string; attempt: number; time: number; status: number; outcome: string; error: string | null; next_at: number | null }

/** `/admin/deliveries`. */
export const deliveriesRoute = new Hono<AppEnv>()
  .get("/", queryParams(deliveriesQuery), async (c) => {
    const q = c.req.valid("query");
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.decisionId) (where.push("decision_id = ?"), args.push(q.decisionId));
    if (q.state) (where.push("state = ?"), args.push(q.state));
    if (q.channel) (where.push("channel = ?"), args.push(q.channel));
    const { results } = await c.env.DB.prepare(`SELECT * FROM activation_actions ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY send_at DESC, decision_id LIMIT ?`)
      .bind(...args, q.limit)
      .all<ActionRow>();
    const ids = results.map((r) => r.decision_id);
    const tries = ids.length
      ? (await c.env.DB.prepare(`SELECT * FROM activation_attempts WHERE decision_id IN (${ids.map(() => "?").join(", ")}) ORDER BY decision_id, attempt`).bind(...ids).all<AttemptRow>()).results
      : [];
    const deliveries = results.map((r) => ({
      decisionId: r.decision_id, customerKey: r.customer_key, channel: r.channel, actionId: r.action_id, contentRef: r.content_ref, moment: r.moment,
      sendAt: new Date(r.send_at as number).toISOString(), hourOfWeek: r.hour_of_week === -1 ? null : r.hour_of_week, sendTimeArm: r.send_time_arm || null,
      state: r.state, attempts: r.attempts, cancelReason: r.cancel_reason, sentAt: r.sent_at ? new Date(r.sent_at as number).toISOString() : null,
      feedback: { delivered: r.delivered === 1, opened: r.opened === 1, clicked: r.clicked === 1, bounced: r.bounced === 1, unsubscribed: r.unsubscribed === 1 },
      attemptLog: tries.filter((t) => t.decision_id === r.decision_id).map((t) => ({ attempt: t.attempt, time: new Date(t.time).toISOString(), status: t.status, outcome: t.outcome, error: t.error, nextAt: t.next_at ? new Date(t.next_at).toISOString() : null })),
    }));
    return c.json({ deliveries });
  })
  .post("/", requireJson(), limitBody(8 * 1024), jsonBody(manualSchema), async (c) => {
    const { customerId, decisionId, ...rest } = c.req.valid("json");
    const services = c.get("services");
    const key = await customerKey(c.env, customerId);
    if (decisionId) {
      // A decision id names one customer's action: reusing another customer's would move it.
      const owner = await c.env.DB.prepare("SELECT customer_key FROM activation_actions WHERE decision_id = ?").bind(decisionId).first<{ customer_key: string }>();
      if (owner && owner.customer_key !== key) throw new AppError("conflict", "decisionId: already an action of another customer");
    }
    const result = await scheduleAction(c.env, { ...rest, decisionId: decisionId ?? services.newId(), customerKey: key });
    return c.json({ ...result, customerKey: key }, result.created ? 201 : 200);
  })
  .post("/cancel", requireJson(), limitBody(4 * 1024), jsonBody(cancelSchema), async (c) => {
    const { customerId, ...options } = c.req.valid("json");
    return c.json(await cancelActions(c.env, await customerKey(c.env, customerId), options));
  });
