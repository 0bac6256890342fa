import { z } from "zod";
import { MAX_EVENTS_PER_BATCH } from "./limits.ts";

/** Largest batch `POST /v1/events` takes (shared with the client: limits.ts). */
export { MAX_EVENTS_PER_BATCH };

const id = z.string().min(1).max(128);
const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/, "letters, digits, _ . : - (max 64), starting with a letter or digit");
const blockId = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, "a block id");

/**
 * Consent as the page knows it (the same object the decide request carries). Only
 * `analytics` matters for events; missing means no consent, as everywhere in the API.
 */
export const eventConsentSchema = z.object({ analytics: z.boolean().default(false) }).catchall(z.boolean());

/**
 * Event types; `custom` events carry their own `name` (e.g. "newsletter_signup"). The channel
 * feedback types are about an outbound action (worker/activation/): the ESP, push or ads provider
 * reports them with the action's `decisionId` (and the webhook's `customerKey` as `visitorId`).
 */
export const EVENT_TYPES = ["impression", "click", "conversion", "custom", "delivered", "opened", "clicked", "bounced", "unsubscribed"] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** Channel feedback on an outbound action (worker/activation/feedback.ts folds them). */
export const CHANNEL_FEEDBACK_TYPES = ["delivered", "opened", "clicked", "bounced", "unsubscribed"] as const satisfies readonly EventType[];
export type ChannelFeedbackType = (typeof CHANNEL_FEEDBACK_TYPES)[number];
const isChannelFeedback = (t: EventType) => (CHANNEL_FEEDBACK_TYPES as readonly string[]).includes(t);

/** One event as the client sends it. */
export const eventSchema = z
  .object({
    type: z.enum(EVENT_TYPES),
    /** Required for custom events, refused on the others. */
    name: name.optional(),
    /** Client-chosen id, unique per visitor; without it the id is derived from the content. */
    eventId: id.optional(),
    visitorId: id,
    /** The decision the event is about; required for impressions, clicks and channel feedback. */
    decisionId: id.optional(),
    blockId: blockId.optional(),
    slot: blockId.optional(),
    /** The page's category (e.g. a product view's), read by moment trigger windows (worker/moments/); kept only in the visitor's object. */
    category: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9 _.:-]{0,63}$/, "a short label (letters, digits, space _ . : -, max 64)").optional(),
    /** Monetary value (conversions, or valued custom events). */
    value: z.number().finite().min(0).max(1e9).optional(),
    /** ISO 4217 code of `value`. */
    currency: z.string().regex(/^[A-Z]{3}$/, "an ISO 4217 code such as EUR").optional(),
    /** Overrides the batch's consent for this event. */
    consent: eventConsentSchema.optional(),
  })
  .superRefine((e, ctx) => {
    if (e.type === "custom" && !e.name) ctx.addIssue({ code: "custom", path: ["name"], message: "custom events need a name" });
    if (e.type !== "custom" && e.name) ctx.addIssue({ code: "custom", path: ["name"], message: "only custom events have a name" });
    if ((e.type === "impression" || e.type === "click" || isChannelFeedback(e.type)) && !e.decisionId) {
      ctx.addIssue({ code: "custom", path: ["decisionId"], message: `${e.type} events need the decisionId they are about` });
    }
    if (e.currency && e.value === undefined) ctx.addIssue({ code: "custom", path: ["currency"], message: "currency without a value" });
  });

export type ClientEvent = z.infer<typeof eventSchema>;

/**
 * The batch: events are validated one by one (a bad event does not spoil the others), so the
 * envelope only checks that there is a list of 1..MAX_EVENTS_PER_BATCH of them.
 */
export const eventBatchSchema = z.object({
  events: z.array(z.unknown()).min(1).max(MAX_EVENTS_PER_BATCH),
  consent: eventConsentSchema.optional(),
});

/** An event as stored: keyed by visitorKey, never by the raw visitor id. */
export interface StoredEvent {
  id: string;
  /** Server receive time, ms. */
  time: number;
  type: EventType;
  name: string | null;
  decisionId: string | null;
  visitorKey: string;
  blockId: string | null;
  slot: string | null;
  value: number | null;
  currency: string | null;
}
