/**
 * Channel feedback (`delivered`, `opened`, `clicked`, `bounced`, `unsubscribed` events about an
 * outbound action's decision id, through `POST /v1/events` and the log queue like every event):
 *
 * - `feedbackStatements`: appended by the log consumer to its batch transaction
 *   (worker/pipeline/wire.ts). The batch's feedback events whose `visitor_key` matches the action
 *   (the provider sends the webhook's `customerKey` as `visitorId`) are staged; each action's flag
 *   goes 0 → 1 once, and the counters of `agg_activation` move only with that flip — so a
 *   redelivered batch or a resent event counts nothing twice. `engaged` (opened or clicked) moves
 *   with the first of the two.
 * - `applyUnsubscribes`: after `POST /v1/events` answers, an `unsubscribed` event turns the
 *   channel's opt-in off (the customer's Outbox stops and cancels that channel's actions; the
 *   customer object's opt-in through `optIn`), and `opened`/`clicked` feed the customer's
 *   send-hour engagement (`engaged`, worker/next-action/channel-state.ts).
 */
import type { AcceptedEvent } from "../events/ingest.ts";
import { CHANNEL_FEEDBACK_TYPES } from "../events/schema.ts";
import { visitorKey } from "../visitor/key.ts";
import { z } from "zod";
import { outboxOf } from "./schedule.ts";

const TYPES_SQL = CHANNEL_FEEDBACK_TYPES.map((t) => `'${t}'`).join(", ");

/** The fold of one feedback type (its flag column has the type's name). */
function foldSql(type: (typeof CHANNEL_FEEDBACK_TYPES)[number]): string[] {
  const engages = type === "opened" || type === "clicked";
  const staged = `a.decision_id IN (SELECT decision_id FROM activation_feedback_batch WHERE type = '${type}')`;
  return [
    `INSERT INTO agg_activation (channel, hour_of_week, send_time_arm, fallback_hour, ${type}, engaged)
     SELECT a.channel, a.hour_of_week, a.send_time_arm, a.fallback_hour, COUNT(*), ${engages ? "SUM(a.opened = 0 AND a.clicked = 0)" : "0"}
     FROM activation_actions a WHERE a.${type} = 0 AND ${staged} GROUP BY 1, 2, 3, 4
     ON CONFLICT DO UPDATE SET ${type} = ${type} + excluded.${type}, engaged = engaged + excluded.engaged`,
    `UPDATE activation_actions AS a SET ${type} = 1 WHERE a.${type} = 0 AND ${staged}`,
  ];
}

const FEEDBACK_SQL = [
  `INSERT OR IGNORE INTO activation_feedback_batch (decision_id, type)
   SELECT e.decision_id, e.type FROM events e JOIN activation_actions a ON a.decision_id = e.decision_id AND a.feedback_key = e.visitor_key
   WHERE e.id IN (SELECT value FROM json_each(?1)) AND e.type IN (${TYPES_SQL})`,
  ...CHANNEL_FEEDBACK_TYPES.flatMap(foldSql),
  "DELETE FROM activation_feedback_batch",
];

/**
 * Statements folding the channel feedback among `eventIds` into `activation_actions` flags and
 * `agg_activation` counters (see the module comment). Run after the events' INSERT in the same
 * transaction. Empty when the batch has no events.
 */
export function feedbackStatements(db: D1Database, eventIds: string[]): D1PreparedStatement[] {
  if (!eventIds.length) return [];
  const ids = JSON.stringify(eventIds);
  return FEEDBACK_SQL.map((sql) => (sql.includes("?1") ? db.prepare(sql).bind(ids) : db.prepare(sql)));
}

/** Turns a customer's channel opt-in on or off (worker/next-action/channel-state.ts `setChannelOptIn`). */
export type ChannelOptIn = (customerKey: string, channel: string, optIn: boolean) => Promise<unknown>;

/** Counts an engagement (opened or clicked) at the message's send hour (worker/next-action/channel-state.ts `recordEngagement`). */
export type Engaged = (customerKey: string, kind: "opened" | "clicked", decisionId: string) => Promise<unknown>;

/**
 * Follows the channel feedback of a request that acts on the customer: each event names an action
 * by decision id and its customer by `visitorId` (the webhook's customerKey); when both match a
 * scheduled action, an `unsubscribed` makes the customer's Outbox record the opt-out (pending
 * actions of the channel are cancelled, later ones refused) and `optIn` update the customer's
 * profile; an `opened`/`clicked` is counted by `engaged` for send-time optimisation (once per
 * message: the customer's object ignores a second). Returns the number of events applied.
 */
export async function applyUnsubscribes(env: Pick<Env, "DB" | "OUTBOX">, stored: AcceptedEvent[], optIn?: ChannelOptIn, engaged?: Engaged): Promise<number> {
  const acting = stored.filter((s) => s.event.decisionId && (s.event.type === "unsubscribed" || (engaged && (s.event.type === "opened" || s.event.type === "clicked"))));
  let applied = 0;
  for (const { event } of acting) {
    const row = await env.DB.prepare("SELECT customer_key, channel FROM activation_actions WHERE decision_id = ? AND feedback_key = ?")
      .bind(event.decisionId!, await visitorKey(event.visitorId))
      .first<{ customer_key: string; channel: string }>();
    if (!row) continue;
    if (event.type === "unsubscribed") {
      await outboxOf(env, row.customer_key).setOptIn(row.channel, false, "unsubscribed");
      await optIn?.(row.customer_key, row.channel, false);
    } else {
      await engaged?.(row.customer_key, event.type as "opened" | "clicked", event.decisionId!);
    }
    applied++;
  }
  return applied;
}

const optOutSchema = z.object({ type: z.literal("unsubscribed"), decisionId: z.string().min(1).max(128), visitorId: z.string().min(1).max(256) });

/**
 * The unsubscribes of a request body, whatever its consent: an opt-out is honoured even when the
 * event may not be stored for analytics (consent governs storing it, not obeying it). At most the
 * first 100 events are read (the events route's own limit is far lower).
 */
export function optOutsIn(body: unknown): AcceptedEvent[] {
  const events = body !== null && typeof body === "object" ? (body as { events?: unknown }).events : undefined;
  if (!Array.isArray(events)) return [];
  return events.slice(0, 100).flatMap((e) => {
    const p = optOutSchema.safeParse(e);
    // Not stored, so no stored id: named by its action (an unsubscribe from one action is one).
    return p.success ? [{ event: p.data as AcceptedEvent["event"], id: `opt-out:${p.data.decisionId}`, personalization: false }] : [];
  });
}
