/**
 * Entry points of activation for other features: next-action decisions schedule through
 * `activationScheduler` (worker/next-action/scheduler.ts's `ActionScheduler`), a moment's exit
 * cancels through `cancelActions` (./moment-exit.ts). Each customer's actions live in their own Outbox object (named by customer key).
 */
import { AppError, formatZodError } from "../errors/app-error.ts";
import { scheduledActionSchema, type CancelResult, type ScheduleResult, type ScheduledAction } from "./types.ts";

type Bindings = Pick<Env, "OUTBOX">;

/** Outbox object name of a customer key. */
export const outboxName = (customerKey: string) => `outbox:${customerKey}`;

/** The Outbox stub of a customer. */
export const outboxOf = (env: Bindings, customerKey: string) => env.OUTBOX.get(env.OUTBOX.idFromName(outboxName(customerKey)));

/**
 * Keeps `action` for delivery at `sendAt` (or records it as the counterfactual of a held-out
 * customer, `holdout: true`). Idempotent by `decisionId`: repeating it returns `created: false`
 * and never schedules or sends twice. Throws `invalid_request` (400) on a malformed action.
 */
export async function scheduleAction(env: Bindings, action: ScheduledAction): Promise<ScheduleResult> {
  const parsed = scheduledActionSchema.safeParse(action);
  if (!parsed.success) throw new AppError("invalid_request", formatZodError(parsed.error, "action"));
  return outboxOf(env, parsed.data.customerKey).schedule(parsed.data);
}

/**
 * Cancels a customer's pending actions — those of `moment` and/or `channel` only when given —
 * because an exit rule fired first (e.g. the customer converted) or consent was withdrawn.
 * `reason` is recorded on each cancelled action.
 */
export async function cancelActions(env: Bindings, customerKey: string, options: { moment?: string; channel?: string; reason: string }): Promise<CancelResult> {
  if (!/^[0-9a-f]{32}$/.test(customerKey)) throw new AppError("invalid_request", "customerKey: a customer key (worker/identity/keys.ts)");
  return outboxOf(env, customerKey).cancel(options);
}

/**
 * The real `ActionScheduler` (worker/next-action/scheduler.ts: `schedule(action)`), for
 * worker/middleware/init.ts.
 */
export function activationScheduler(env: Bindings): { schedule(action: ScheduledAction): Promise<void> } {
  return {
    async schedule(action) {
      await scheduleAction(env, action);
    },
  };
}
