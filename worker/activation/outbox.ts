/**
 * The Outbox Durable Object: one per customer key, keeping that customer's scheduled outbound
 * actions in its SQLite storage and delivering each at `sendAt` from its alarm.
 *
 * Delivery guarantee (stated honestly): **at least once, deduplicable to exactly once**. Before an
 * attempt leaves, the object durably records `sending` with the attempt number (the output gate
 * holds the request until that write is confirmed). After a 2xx it records `sent`, and a `sent` or
 * `failed` action is never sent again — an alarm re-run, a repeated `schedule` of the same
 * decision id and a restart all find it final. The one window left is a crash after the receiver
 * accepted and before `sent` was written: the next alarm finds the action still `sending` and
 * sends it again, with the same body and the same `Idempotency-Key` (the decision id), so a
 * receiver that keeps keys for a day sees it once. No design can close that window without the
 * receiver's help (the two generals problem); every attempt, including that one, is in D1.
 */
import { DurableObject } from "cloudflare:workers";
import { KILL_SWITCH_OFF, readKillSwitch } from "../kill-switch/store.ts";
import { visitorKey } from "../visitor/key.ts";
import { readChannel, signingSecret } from "./channels.ts";
import { attemptDelivery, backoffMs, type Transport } from "./deliver.ts";
import { failedStatement, insertActionRow, insertAttemptRow, sentStatements, updateStateRow } from "./mirror.ts";
import { scheduledActionSchema, type ActionState, type CancelResult, type ScheduleResult, type ScheduledAction } from "./types.ts";

interface OutboxRow {
  decision_id: string;
  action: string;
  state: ActionState;
  attempts: number;
  next_at: number | null;
  mirror_pending: number;
  [key: string]: SqlStorageValue;
}

/** States an alarm acts on (a `sending` one is an attempt whose end was never recorded). */
const PENDING: ActionState[] = ["scheduled", "retrying", "sending"];
/** When a D1 mirror fails, the alarm tries it again after this long, ms. */
const MIRROR_RETRY_MS = 30_000;

export class Outbox extends DurableObject<Env> {
  /** The clock (epoch ms); tests replace it to run alarms "later" without waiting. */
  now: () => number = () => Date.now();
  /** What sends webhooks; tests replace it with a receiver. */
  transport: Transport = (request) => fetch(request);

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.createTables();
  }

  private createTables(): void {
    const { sql } = this.ctx.storage;
    sql.exec(
      `CREATE TABLE IF NOT EXISTS outbox (decision_id TEXT PRIMARY KEY, action TEXT NOT NULL, state TEXT NOT NULL,
         attempts INTEGER NOT NULL DEFAULT 0, next_at INTEGER, mirror_pending INTEGER NOT NULL DEFAULT 0, cancel_reason TEXT)`,
    );
    // Channels the customer unsubscribed from (channel feedback): delivery re-checks at send time.
    sql.exec("CREATE TABLE IF NOT EXISTS opt_outs (channel TEXT PRIMARY KEY, at INTEGER NOT NULL)");
  }

  private row(decisionId: string): OutboxRow | undefined {
    return this.ctx.storage.sql.exec<OutboxRow>("SELECT * FROM outbox WHERE decision_id = ?", decisionId).toArray()[0];
  }

  /** Runs D1 statements; on failure marks the row for a later mirror instead of throwing. */
  private async mirror(decisionId: string, statements: D1PreparedStatement[]): Promise<void> {
    try {
      await this.env.DB.batch(statements);
      this.ctx.storage.sql.exec("UPDATE outbox SET mirror_pending = 0 WHERE decision_id = ?", decisionId);
    } catch (err) {
      console.error(`activation: recording ${decisionId} in D1 failed (retried by the alarm):`, err);
      this.ctx.storage.sql.exec("UPDATE outbox SET mirror_pending = 1 WHERE decision_id = ?", decisionId);
    }
  }

  /** The statements that bring D1 to what this object knows about one action. */
  private async mirrorOf(r: OutboxRow, now: number, cancelReason: string | null = null): Promise<D1PreparedStatement[]> {
    const db = this.env.DB;
    const action = JSON.parse(r.action) as ScheduledAction;
    const base = insertActionRow(db, action, await visitorKey(action.customerKey), r.state === "held_out" ? "held_out" : "scheduled", now);
    if (r.state === "sent") return [base, ...sentStatements(db, r.decision_id, r.attempts, now)];
    if (r.state === "failed") return [base, failedStatement(db, r.decision_id, r.attempts, now)];
    return [base, updateStateRow(db, r.decision_id, r.state, r.attempts, now, cancelReason)];
  }

  /** Sets the alarm to the earliest pending action (or a mirror retry), or deletes it. */
  private async rearm(): Promise<void> {
    const next = this.ctx.storage.sql
      .exec<{ at: number | null }>(
        `SELECT MIN(at) AS at FROM (SELECT MIN(next_at) AS at FROM outbox WHERE state IN ('scheduled', 'retrying', 'sending')
           UNION ALL SELECT MIN(?) AS at FROM outbox WHERE mirror_pending = 1)`,
        this.now() + MIRROR_RETRY_MS,
      )
      .one().at;
    if (next === null) await this.ctx.storage.deleteAlarm();
    else await this.ctx.storage.setAlarm(next);
  }

  /** Keeps an action (idempotent by decision id: a second call changes nothing). */
  async schedule(input: ScheduledAction): Promise<ScheduleResult> {
    const action = scheduledActionSchema.parse(input);
    const existing = this.row(action.decisionId);
    if (existing) return { decisionId: action.decisionId, created: false, state: existing.state };
    const state: ActionState = action.holdout ? "held_out" : "scheduled";
    this.ctx.storage.sql.exec(
      "INSERT INTO outbox (decision_id, action, state, attempts, next_at) VALUES (?, ?, ?, 0, ?)",
      action.decisionId, JSON.stringify(action), state, state === "scheduled" ? action.sendAt : null,
    );
    await this.mirror(action.decisionId, [insertActionRow(this.env.DB, action, await visitorKey(action.customerKey), state, this.now())]);
    await this.rearm();
    return { decisionId: action.decisionId, created: true, state };
  }

  /**
   * Cancels the pending actions (of one moment and/or one channel, or all): an exit rule fired
   * first, or the customer withdrew consent. An action already being sent, sent or failed is
   * reported as too late.
   */
  async cancel(options: { moment?: string; channel?: string; reason: string }): Promise<CancelResult> {
    const now = this.now();
    const reason = options.reason.slice(0, 200);
    const result: CancelResult = { cancelled: [], tooLate: [] };
    for (const r of this.ctx.storage.sql.exec<OutboxRow>("SELECT * FROM outbox").toArray()) {
      const action = JSON.parse(r.action) as ScheduledAction;
      if (options.moment !== undefined && action.moment !== options.moment) continue;
      if (options.channel !== undefined && action.channel !== options.channel) continue;
      if (r.state === "scheduled" || r.state === "retrying") {
        this.ctx.storage.sql.exec("UPDATE outbox SET state = 'cancelled', next_at = NULL, cancel_reason = ? WHERE decision_id = ?", reason, r.decision_id);
        result.cancelled.push(r.decision_id);
        await this.mirror(r.decision_id, await this.mirrorOf({ ...r, state: "cancelled" }, now, reason));
      } else if (r.state === "sending" || r.state === "sent" || r.state === "failed") {
        result.tooLate.push(r.decision_id);
      }
    }
    await this.rearm();
    return result;
  }

  /**
   * Records the customer's opt-in for a channel. An opt-out (an `unsubscribed` feedback event)
   * cancels the channel's pending actions and is re-checked before every send.
   */
  async setOptIn(channel: string, optIn: boolean, reason = "unsubscribed"): Promise<CancelResult> {
    const now = this.now();
    if (optIn) {
      this.ctx.storage.sql.exec("DELETE FROM opt_outs WHERE channel = ?", channel);
      return { cancelled: [], tooLate: [] };
    }
    this.ctx.storage.sql.exec("INSERT INTO opt_outs (channel, at) VALUES (?, ?) ON CONFLICT (channel) DO NOTHING", channel, now);
    const result: CancelResult = { cancelled: [], tooLate: [] };
    for (const r of this.ctx.storage.sql.exec<OutboxRow>("SELECT * FROM outbox WHERE state IN ('scheduled', 'retrying')").toArray()) {
      if ((JSON.parse(r.action) as ScheduledAction).channel !== channel) continue;
      this.ctx.storage.sql.exec("UPDATE outbox SET state = 'cancelled', next_at = NULL, cancel_reason = ? WHERE decision_id = ?", reason, r.decision_id);
      result.cancelled.push(r.decision_id);
      await this.mirror(r.decision_id, await this.mirrorOf({ ...r, state: "cancelled" }, now, reason));
    }
    await this.rearm();
    return result;
  }

  /** Channels the customer opted out of. */
  optOuts(): string[] {
    return this.ctx.storage.sql.exec<{ channel: string }>("SELECT channel FROM opt_outs ORDER BY channel").toArray().map((r) => r.channel);
  }

  /** Erasure: drops every action (pending ones are never sent) and opt-out; returns the rows removed. */
  async erase(): Promise<number> {
    const n = this.ctx.storage.sql.exec<{ n: number }>("SELECT (SELECT COUNT(*) FROM outbox) + (SELECT COUNT(*) FROM opt_outs) AS n").one().n;
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    this.createTables();
    return n;
  }

  /** The actions this object keeps (admin and tests). */
  list(): Array<{ decisionId: string; state: ActionState; attempts: number; nextAt: number | null }> {
    return this.ctx.storage.sql
      .exec<OutboxRow>("SELECT * FROM outbox ORDER BY decision_id")
      .toArray()
      .map((r) => ({ decisionId: r.decision_id, state: r.state, attempts: r.attempts, nextAt: r.next_at }));
  }

  /** Delivers every due action, repeats failed mirrors, re-arms. Never throws (no runtime retry storm). */
  override async alarm(): Promise<void> {
    const now = this.now();
    const due = this.ctx.storage.sql
      .exec<OutboxRow>(`SELECT * FROM outbox WHERE state IN (${PENDING.map(() => "?").join(", ")}) AND next_at <= ? ORDER BY next_at`, ...PENDING, now)
      .toArray();
    for (const r of due) {
      try {
        await this.deliver(r, now);
      } catch (err) {
        console.error(`activation: delivering ${r.decision_id} failed unexpectedly:`, err);
      }
    }
    for (const r of this.ctx.storage.sql.exec<OutboxRow>("SELECT * FROM outbox WHERE mirror_pending = 1").toArray()) {
      await this.mirror(r.decision_id, await this.mirrorOf(r, now));
    }
    await this.rearm();
  }

  private async deliver(r: OutboxRow, now: number): Promise<void> {
    const action = JSON.parse(r.action) as ScheduledAction;
    const db = this.env.DB;
    const config = await readChannel(db, action.channel);
    const secret = config && signingSecret(this.env, config.secretName);
    const attempt = r.attempts + 1;
    const optedOut = this.ctx.storage.sql.exec("SELECT 1 FROM opt_outs WHERE channel = ?", action.channel).toArray().length > 0;
    // The kill switch stops what was scheduled before it was turned on, too: cancelled (final, not
    // held — a message sent hours late after the switch is off is not what anyone asked for).
    // Read fresh from D1; a failed read fails open, as decides do (worker/kill-switch/store.ts).
    const killed = !optedOut && (await readKillSwitch(db).catch(() => KILL_SWITCH_OFF)).on;
    if (optedOut || killed) {
      const reason = optedOut ? "unsubscribed" : "kill_switch";
      this.ctx.storage.sql.exec("UPDATE outbox SET state = 'cancelled', next_at = NULL, cancel_reason = ? WHERE decision_id = ?", reason, r.decision_id);
      await this.mirror(r.decision_id, await this.mirrorOf({ ...r, state: "cancelled" }, now, reason));
      return;
    }
    if (!config || !config.enabled || !secret) {
      // Nothing can be sent; final, and recorded with the reason (no attempt reached a receiver).
      const error = !config ? `no webhook configured for channel ${action.channel}` : !config.enabled ? `channel ${action.channel} is disabled` : `signing secret ${config.secretName} is not set`;
      this.ctx.storage.sql.exec("UPDATE outbox SET state = 'failed', next_at = NULL WHERE decision_id = ?", r.decision_id);
      await this.mirror(r.decision_id, [...(await this.mirrorOf({ ...r, state: "failed" }, now)), insertAttemptRow(db, r.decision_id, attempt, now, 0, "failed", error, null)]);
      return;
    }
    // Durable before the request leaves (output gate): a crash from here on resends, never loses.
    this.ctx.storage.sql.exec("UPDATE outbox SET state = 'sending', attempts = ?, next_at = ? WHERE decision_id = ?", attempt, now, r.decision_id);
    const result = await attemptDelivery(this.transport, { url: config.url, secret, timeoutMs: config.timeoutMs }, action, attempt, now);
    const done = this.now();
    let state: ActionState;
    let nextAt: number | null = null;
    if (result.kind === "sent") state = "sent";
    else if (result.kind === "retry" && attempt < config.maxAttempts) {
      state = "retrying";
      nextAt = done + backoffMs(config.retryBaseMs, attempt);
    } else state = "failed";
    this.ctx.storage.sql.exec("UPDATE outbox SET state = ?, next_at = ? WHERE decision_id = ?", state, nextAt, r.decision_id);
    const outcome = state === "sent" ? "sent" : state === "retrying" ? "retry" : "failed";
    await this.mirror(r.decision_id, [...(await this.mirrorOf({ ...r, state, attempts: attempt }, done)), insertAttemptRow(db, r.decision_id, attempt, done, result.status, outcome, result.error, nextAt)]);
  }
}
