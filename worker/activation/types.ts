/**
 * The shapes of activation: a scheduled outbound action (what worker/next-action/scheduler.ts's
 * `ActionScheduler` is handed, with its measurement fields), its states, and
 * the channels a webhook can be configured for.
 */
import { z } from "zod";

/** Outbound channels (issue 18). `web` is decided in the page, never delivered by webhook. */
export const OUTBOUND_CHANNELS = ["email", "push", "sms", "in_app", "ads_audience", "sales_task"] as const;
export type OutboundChannel = (typeof OUTBOUND_CHANNELS)[number];

/** Which send-time arm picked `sendAt` (the decision record's `sendTimeArm`). */
export const SEND_TIME_ARMS = ["chosen", "fallback", "explore"] as const;
export type SendTimeArm = (typeof SEND_TIME_ARMS)[number];

/**
 * An action to deliver later. `decisionId` identifies it everywhere (idempotency key of the
 * schedule and of the webhook). `customerKey` is the HMAC key of worker/identity/keys.ts, never a
 * raw customer id. Times are epoch milliseconds.
 */
export interface ScheduledAction {
  decisionId: string;
  customerKey: string;
  channel: string;
  actionId: string;
  contentRef: string;
  /** When to deliver, epoch ms. */
  sendAt: number;
  moment?: string;
  /** Measurement (optional): the arm that picked the hour, its local hour of week (0 = Monday 00h). */
  sendTimeArm?: SendTimeArm;
  hourOfWeek?: number;
  /** `sendAt` is at the configured fallback hour (the exploration arm's comparison). */
  fallbackHour?: boolean;
  /** A held-out customer: recorded as the counterfactual, never delivered. */
  holdout?: boolean;
}

const ident = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/, "letters, digits, _ . : - (max 128)");

/** The latest `sendAt` accepted, epoch ms (2100-01-01; workerd refuses alarms after 2189). */
export const MAX_SEND_AT = Date.UTC(2100, 0, 1);

/** Validates a ScheduledAction at the boundary (the Outbox trusts nothing it is handed). */
export const scheduledActionSchema = z.object({
  decisionId: ident,
  customerKey: z.string().regex(/^[0-9a-f]{32}$/, "a customer key (worker/identity/keys.ts), not a raw customer id"),
  channel: z.enum(OUTBOUND_CHANNELS),
  actionId: ident,
  contentRef: z.string().min(1).max(512),
  sendAt: z.number().int().nonnegative().max(MAX_SEND_AT, "sendAt: before 2100 (a Durable Object alarm cannot be set later)"),
  moment: ident.optional(),
  sendTimeArm: z.enum(SEND_TIME_ARMS).optional(),
  hourOfWeek: z.number().int().min(0).max(167).optional(),
  fallbackHour: z.boolean().optional(),
  holdout: z.boolean().optional(),
}) satisfies z.ZodType<ScheduledAction>;

/**
 * Life of an action: `scheduled` → (`sending` → `retrying`)* → `sent` | `failed`; `cancelled` from
 * `scheduled`/`retrying` (an exit rule fired first); `held_out` never leaves (the counterfactual).
 */
export const ACTION_STATES = ["scheduled", "sending", "retrying", "sent", "failed", "cancelled", "held_out"] as const;
export type ActionState = (typeof ACTION_STATES)[number];

/** Outcome of `scheduleAction`. */
export interface ScheduleResult {
  decisionId: string;
  /** False when the decision id was already scheduled (nothing changed). */
  created: boolean;
  state: ActionState;
}

/** Outcome of `cancelActions`. */
export interface CancelResult {
  /** Decision ids cancelled by this call. */
  cancelled: string[];
  /** Decision ids already sending, sent or failed: too late to cancel. */
  tooLate: string[];
}
