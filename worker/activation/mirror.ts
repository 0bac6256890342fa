/**
 * What the Outbox writes to D1 so admins and reports can see it: the action's row, its attempts,
 * and the `sent` counter of the engagement aggregates. Every statement is idempotent (insert or
 * ignore, guarded updates), so the Outbox may repeat a mirror that failed half way.
 */
import type { ActionState, ScheduledAction } from "./types.ts";

/** The action's row as scheduled (or held out). Ignored when it exists. */
export function insertActionRow(db: D1Database, a: ScheduledAction, feedbackKey: string, state: ActionState, now: number): D1PreparedStatement {
  return db
    .prepare(
      `INSERT OR IGNORE INTO activation_actions (decision_id, customer_key, feedback_key, channel, action_id, content_ref, moment, send_at, hour_of_week,
         send_time_arm, fallback_hour, state, attempts, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)`,
    )
    .bind(a.decisionId, a.customerKey, feedbackKey, a.channel, a.actionId, a.contentRef, a.moment ?? null, a.sendAt, a.hourOfWeek ?? -1, a.sendTimeArm ?? "", a.fallbackHour ? 1 : 0, state, now, now);
}

/** The action's state (a `sent` row never goes back: a late mirror of an older state is ignored). */
export function updateStateRow(db: D1Database, decisionId: string, state: ActionState, attempts: number, now: number, cancelReason: string | null = null): D1PreparedStatement {
  return db
    .prepare("UPDATE activation_actions SET state = ?, attempts = MAX(attempts, ?), updated_at = ?, cancel_reason = COALESCE(?, cancel_reason) WHERE decision_id = ? AND state NOT IN ('sent', 'failed')")
    .bind(state, attempts, now, cancelReason, decisionId);
}

/** One attempt's record. */
export function insertAttemptRow(db: D1Database, decisionId: string, attempt: number, at: number, status: number, outcome: "sent" | "retry" | "failed", error: string | null, nextAt: number | null): D1PreparedStatement {
  return db
    .prepare("INSERT OR IGNORE INTO activation_attempts (decision_id, attempt, time, status, outcome, error, next_at) VALUES (?, ?, ?, ?, ?, ?, ?)")
    .bind(decisionId, attempt, at, status, outcome, error, nextAt);
}

/**
 * A successful delivery: +1 `sent` in its aggregate cell, then the row becomes `sent` with its
 * time. The counter only moves while `sent_at` is still NULL, so a repeated mirror counts once.
 */
export function sentStatements(db: D1Database, decisionId: string, attempts: number, now: number): D1PreparedStatement[] {
  return [
    db
      .prepare(
        `INSERT INTO agg_activation (channel, hour_of_week, send_time_arm, fallback_hour, sent)
         SELECT channel, hour_of_week, send_time_arm, fallback_hour, 1 FROM activation_actions WHERE decision_id = ? AND sent_at IS NULL
         ON CONFLICT DO UPDATE SET sent = sent + 1`,
      )
      .bind(decisionId),
    db.prepare("UPDATE activation_actions SET state = 'sent', attempts = MAX(attempts, ?), sent_at = ?, updated_at = ? WHERE decision_id = ? AND sent_at IS NULL").bind(attempts, now, now, decisionId),
  ];
}

/** A final failure (no more attempts, or an answer that will not change). */
export function failedStatement(db: D1Database, decisionId: string, attempts: number, now: number): D1PreparedStatement {
  return db.prepare("UPDATE activation_actions SET state = 'failed', attempts = MAX(attempts, ?), updated_at = ? WHERE decision_id = ? AND state NOT IN ('sent', 'failed')").bind(attempts, now, decisionId);
}
