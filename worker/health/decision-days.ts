/**
 * Decisions per UTC day for the overview (`GET /admin/health` → `decisions`), read from the
 * decision-health aggregate (agg_decision_health, migrations/0013; folded by the queue consumer,
 * worker/aggregates/health.ts) — never from the decisions table.
 */
import { DAY_MS, utcDay } from "../aggregates/sql.ts";

/** One UTC day: decisions by reason, and the share a model personalised (`ranked`). */
export interface DecisionDay {
  /** 'YYYY-MM-DD' (UTC). */
  day: string;
  decisions: number;
  /** Decisions a model ranked (`reason: "ranked"`). */
  personalised: number;
  /** personalised / decisions; null on a day without decisions. */
  personalisedShare: number | null;
  /** Decisions per reason: ranked, holdout (universal control), fallback (rules), default. */
  byReason: Record<"ranked" | "holdout" | "fallback" | "default", number>;
}

/** Days shown by default (today and the 13 before). */
export const DECISION_DAYS = 14;

/** The last `days` UTC days up to `now`'s, oldest first; days without decisions count 0. */
export async function decisionDays(db: D1Database, now: number, days = DECISION_DAYS): Promise<DecisionDay[]> {
  const list = [...Array(days).keys()].map((i) => utcDay(now - (days - 1 - i) * DAY_MS));
  const { results } = await db
    .prepare("SELECT day, reason, SUM(decisions) AS n FROM agg_decision_health WHERE day >= ? AND day <= ? GROUP BY day, reason")
    .bind(list[0], list[list.length - 1])
    .all<{ day: string; reason: string; n: number }>();
  return list.map((day) => {
    const byReason = { ranked: 0, holdout: 0, fallback: 0, default: 0 };
    for (const r of results) if (r.day === day && r.reason in byReason) byReason[r.reason as keyof typeof byReason] += r.n;
    const decisions = byReason.ranked + byReason.holdout + byReason.fallback + byReason.default;
    return { day, decisions, personalised: byReason.ranked, personalisedShare: decisions > 0 ? byReason.ranked / decisions : null, byReason };
  });
}
