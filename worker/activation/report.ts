/**
 * The channel report (`GET /admin/reports/channels`), from `agg_activation` only (folded by the log
 * consumer, worker/activation/feedback.ts, and by the Outbox for `sent`):
 * - engagement rate = engaged / sent per channel, per local hour of week and per send-time arm,
 *   where engaged = opened or clicked (once per message); Wilson score interval (Wilson 1927,
 *   JASA 22:209–212), as everywhere in the reports;
 * - send-time lift: messages at the hour the model chose (arm `chosen`) against messages the
 *   exploration arm sent at the configured fallback hour (arm `explore`, `fallbackHour`) — the
 *   exploration arm draws its hour at random, so its fallback-hour messages estimate what the
 *   fallback hour would have done for the same customers, which the `fallback` arm (customers with
 *   thin data) cannot. Difference of proportions with Newcombe's hybrid score interval, method 10
 *   of Newcombe (1998), "Interval estimation for the difference between independent proportions:
 *   comparison of eleven methods", Statistics in Medicine 17:873–890 (worker/stats/proportions.ts
 *   `compareProportions`); relative lift with the Katz log risk-ratio interval.
 */
import { compareProportions, wilson, type Interval, type ProportionComparison } from "../stats/proportions.ts";

/** One cell of `agg_activation`. */
export interface ActivationCell {
  channel: string;
  hour_of_week: number;
  send_time_arm: string;
  fallback_hour: number;
  sent: number;
  delivered: number;
  opened: number;
  clicked: number;
  bounced: number;
  unsubscribed: number;
  engaged: number;
}

const COUNTS = ["sent", "delivered", "opened", "clicked", "bounced", "unsubscribed", "engaged"] as const;
type Totals = Record<(typeof COUNTS)[number], number>;

function total(cells: ActivationCell[]): Totals {
  const t = Object.fromEntries(COUNTS.map((k) => [k, 0])) as Totals;
  for (const c of cells) for (const k of COUNTS) t[k] += c[k];
  return t;
}

/** Engagement counts with the rate's interval; `engaged` is capped at `sent` (feedback for a message not yet mirrored as sent). */
function row(cells: ActivationCell[], confidence: number): Totals & { engagementRate: Interval } {
  const t = total(cells);
  return { ...t, engagementRate: wilson({ n: t.sent, x: Math.min(t.engaged, t.sent) }, confidence) };
}

function groupBy<K extends string | number>(cells: ActivationCell[], key: (c: ActivationCell) => K): Map<K, ActivationCell[]> {
  const out = new Map<K, ActivationCell[]>();
  for (const c of cells) out.set(key(c), [...(out.get(key(c)) ?? []), c]);
  return out;
}

/** The send-time comparison: chosen hour vs the exploration arm at the fallback hour. */
export interface SendTimeLift extends ProportionComparison {
  treatment: Interval;
  control: Interval;
  treatmentCounts: { sent: number; engaged: number };
  controlCounts: { sent: number; engaged: number };
}

/** Builds the report from the aggregate cells (already filtered by channel when asked). */
export function channelReport(cells: ActivationCell[], confidence = 0.95) {
  const channels = [...groupBy(cells, (c) => c.channel)].sort(([a], [b]) => a.localeCompare(b)).map(([channel, cs]) => ({ channel, ...row(cs, confidence) }));
  const hours = [...groupBy(cells.filter((c) => c.hour_of_week >= 0), (c) => `${c.channel}\u0000${c.hour_of_week}`)]
    .map(([, cs]) => ({ channel: cs[0]!.channel, hourOfWeek: cs[0]!.hour_of_week, dayOfWeek: Math.floor(cs[0]!.hour_of_week / 24), hourOfDay: cs[0]!.hour_of_week % 24, ...row(cs, confidence) }))
    .sort((a, b) => a.channel.localeCompare(b.channel) || a.hourOfWeek - b.hourOfWeek);
  const arms = [...groupBy(cells, (c) => c.send_time_arm || "unknown")].sort(([a], [b]) => a.localeCompare(b)).map(([arm, cs]) => ({ arm, ...row(cs, confidence) }));
  const chosen = total(cells.filter((c) => c.send_time_arm === "chosen"));
  const control = total(cells.filter((c) => c.send_time_arm === "explore" && c.fallback_hour === 1));
  const t = { n: chosen.sent, x: Math.min(chosen.engaged, chosen.sent) };
  const k = { n: control.sent, x: Math.min(control.engaged, control.sent) };
  const sendTimeLift: SendTimeLift = {
    ...compareProportions(t, k, confidence),
    treatmentCounts: { sent: t.n, engaged: t.x },
    controlCounts: { sent: k.n, engaged: k.x },
  };
  return { channels, hours, arms, sendTimeLift };
}

/** Reads the aggregate cells, optionally of one channel. */
export async function activationCells(db: D1Database, channel?: string): Promise<ActivationCell[]> {
  const stmt = channel ? db.prepare("SELECT * FROM agg_activation WHERE channel = ?").bind(channel) : db.prepare("SELECT * FROM agg_activation");
  return (await stmt.all<ActivationCell>()).results;
}
