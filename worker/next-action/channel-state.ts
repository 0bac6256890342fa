/**
 * Entry points other features call on a customer's channel state: unsubscribes (worker/activation/'s
 * `unsubscribed` feedback) and engagement counts (`opened`/`clicked` feedback from event
 * ingestion). Both address the customer's Durable Object by its HMAC key.
 */
import type { Channel } from "../actions/channels.ts";
import { customerObject } from "../identity/keys.ts";
import type { ProfileTraits } from "../identity/schema.ts";

type Bindings = Pick<Env, "VISITOR" | "DB">;

const customer = (env: Bindings, customerKey: string) => env.VISITOR.get(env.VISITOR.idFromName(customerObject(customerKey)));

/** Sets the customer's opt-in for a channel (`contact.optIns.<channel>`); returns the traits. */
export async function setChannelOptIn(env: Bindings, customerKey: string, channel: Channel, optIn: boolean): Promise<ProfileTraits> {
  return (await customer(env, customerKey).setChannelOptIn(channel, optIn)) as ProfileTraits;
}

/** One piece of engagement feedback on an outbound message. */
export interface Engagement {
  customerKey: string;
  kind: "opened" | "clicked";
  /** The next-action decision of the message, when the feedback carries it. */
  decisionId?: string;
  /** When the customer engaged, epoch ms. */
  at: number;
}

/**
 * Counts an engagement in the customer's send-hour counts (once per message) and in the
 * population's (D1 `send_time_population`, the shrinkage prior). Returns the local hour of week
 * counted, or null when the message was already counted.
 */
export async function recordEngagement(env: Bindings, e: Engagement): Promise<number | null> {
  const hour = await customer(env, e.customerKey).recordEngagement(e.decisionId, e.at);
  if (hour !== null) await env.DB.prepare("INSERT INTO send_time_population (hour_of_week, engaged) VALUES (?, 1) ON CONFLICT (hour_of_week) DO UPDATE SET engaged = engaged + 1").bind(hour).run();
  return hour;
}

/** Counts a scheduled send at a local hour of week in the population's counts. */
export async function recordPopulationSend(db: D1Database, hourOfWeek: number): Promise<void> {
  await db.prepare("INSERT INTO send_time_population (hour_of_week, sends) VALUES (?, 1) ON CONFLICT (hour_of_week) DO UPDATE SET sends = sends + 1").bind(hourOfWeek).run();
}

let populationCache: { at: number; rows: Array<{ hour_of_week: number; sends: number; engaged: number }> } | undefined;

/** The population's counts (cached 60 s per isolate). */
export async function populationCounts(db: D1Database, now: number): Promise<{ sends: number[]; engaged: number[] }> {
  if (!populationCache || now - populationCache.at > 60_000) {
    const { results } = await db.prepare("SELECT hour_of_week, sends, engaged FROM send_time_population").all<{ hour_of_week: number; sends: number; engaged: number }>();
    populationCache = { at: now, rows: results };
  }
  const sends = new Array(168).fill(0);
  const engaged = new Array(168).fill(0);
  for (const r of populationCache.rows) {
    sends[r.hour_of_week] = r.sends;
    engaged[r.hour_of_week] = Math.min(r.engaged, r.sends);
  }
  return { sends, engaged };
}
