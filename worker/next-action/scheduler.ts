/**
 * Scheduling of a decided outbound action: the decision hands it over, a scheduler keeps it and
 * delivers it at `sendAt` (h/activation provides the real one: Durable Object alarm or delayed
 * queue message, then the channel's webhook). Wired through worker/services.ts.
 */
import type { Channel } from "../actions/channels.ts";

/** An action to deliver later. */
export interface ScheduledAction {
  decisionId: string;
  /** HMAC key of the customer (worker/identity/keys.ts), never the raw id. */
  customerKey: string;
  channel: Channel;
  actionId: string;
  contentRef: string;
  /** When to deliver, epoch ms. */
  sendAt: number;
  moment?: string;
}

export interface ActionScheduler {
  /** Keeps the action for delivery at `sendAt`. Idempotent per decisionId. */
  schedule(action: ScheduledAction): Promise<void>;
}

/** Deterministic in-memory scheduler for tests: keeps actions in order, once per decision id. */
export function memoryScheduler(): ActionScheduler & { scheduled: ScheduledAction[] } {
  const scheduled: ScheduledAction[] = [];
  return {
    scheduled,
    async schedule(action) {
      if (!scheduled.some((a) => a.decisionId === action.decisionId)) scheduled.push(structuredClone(action));
    },
  };
}

/**
 * What production has until the activation scheduler is wired: refuses to pretend. Decisions are
 * still made and logged, but `schedule` throws so the route answers that nothing was scheduled.
 */
export function unwiredScheduler(): ActionScheduler {
  return {
    async schedule() {
      throw new Error("no action scheduler is wired (worker/services.ts `scheduler`)");
    },
  };
}
