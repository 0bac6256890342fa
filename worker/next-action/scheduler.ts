/**
 * Scheduling of a decided outbound action: the decision hands it over, a scheduler keeps it and
 * delivers it at `sendAt` (the real one is worker/activation/: the customer's Outbox Durable
 * Object and its alarm, then the channel's webhook). Wired through worker/services.ts.
 */
import type { ScheduledAction } from "../activation/types.ts";

/**
 * An action to deliver later: its decision, customer key, channel, action, content and `sendAt`,
 * plus what the channel reports measure (the send-time arm, the hour of week, whether it is the
 * fallback hour). Declared with its validation in worker/activation/types.ts.
 */
export type { ScheduledAction } from "../activation/types.ts";

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

