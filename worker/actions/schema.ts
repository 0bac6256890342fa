/**
 * The catalog of outbound actions (versioned at `/admin/actions`): what next-action may propose,
 * on which channel, and the policy that bounds contacts (contact policy, quiet hours, service
 * window, send-time settings). Validated at every boundary; defaults fill what a document omits.
 */
import { z } from "zod";
import { conditionSchema } from "../guardrails/condition.ts";

import { channelSchema } from "./channels.ts";

export { CHANNELS, channelSchema, type Channel } from "./channels.ts";

const id = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, "letters, digits, - and _ (max 64)");

/** One outbound action. */
export const actionSchema = z
  .object({
    id,
    channel: channelSchema,
    /** Reference of the content in the channel's system (an ESP template id, a push payload key…). */
    contentRef: z.string().min(1).max(256),
    /** Value of an engagement with this action (arbitration: propensity × value). */
    value: z.number().finite().min(0).max(1e9),
    /** Custom attributes, like block attributes (declared model features read them). */
    attributes: z
      .record(z.string().regex(/^[A-Za-z0-9_-]{1,64}$/), z.union([z.string().max(200), z.number(), z.boolean()]))
      .refine((a) => Object.keys(a).length <= 32, "at most 32 attributes")
      .optional(),
    /** JSON Logic over `{ profile, account, moment }` (bounded: worker/guardrails/condition.ts). */
    condition: conditionSchema.optional(),
    /** Moment ids this action is eligible in; absent = only decisions without a moment. */
    moments: z.array(id).max(32).optional(),
  })
  .strict();
export type Action = z.infer<typeof actionSchema>;

const hour = z.number().int().min(0).max(23);

/** Contact policy: caps across channels, counted in the customer's one history. */
export const contactPolicySchema = z
  .object({
    /** At most this many messages in any 7 × 24 h, all channels together. */
    weekly: z.number().int().min(0).max(1000).default(3),
    /** At most this many messages per channel in any 24 h. */
    perChannelDaily: z.number().int().min(0).max(1000).default(1),
    /** Whether personalised web slot exposures (worker/visitor/) count as `web` messages. */
    countWebExposures: z.boolean().default(true),
  })
  .strict();
export type ContactPolicy = z.infer<typeof contactPolicySchema>;

export const policySchema = z
  .object({
    contactPolicy: contactPolicySchema.default({ weekly: 3, perChannelDaily: 1, countWebExposures: true }),
    /** Local hours [start, end) in which the listed channels send nothing (wraps midnight when start > end). */
    quietHours: z
      .object({ start: hour, end: hour, channels: z.array(channelSchema).max(7) })
      .strict()
      .default({ start: 21, end: 8, channels: ["email", "push", "sms"] }),
    /** The answer must be sent within this many hours of the trigger (service-level window). */
    serviceWindowHours: z.number().min(1).max(24 * 14).default(24),
    sendTime: z
      .object({
        /** Channels whose send hour is optimised; the others are sent at once. */
        channels: z.array(channelSchema).max(7).default(["email", "push", "sms"]),
        /** Local hour used for customers with fewer than `minSends` sends. */
        fallbackHour: hour.default(10),
        minSends: z.number().int().min(0).max(10_000).default(5),
        /** κ of the Beta-binomial prior, in pseudo-sends (worker/send-time/shrinkage.ts). */
        priorStrength: z.number().min(0).max(10_000).default(8),
        /** Share of decisions exploring another allowed hour. */
        epsilon: z.number().min(0).max(1).default(0.1),
        /** Zone of customers whose profile has none. */
        defaultTimeZone: z.string().min(1).max(64).default("UTC"),
      })
      .strict()
      .default({ channels: ["email", "push", "sms"], fallbackHour: 10, minSends: 5, priorStrength: 8, epsilon: 0.1, defaultTimeZone: "UTC" }),
  })
  .strict();
export type ActionPolicy = z.infer<typeof policySchema>;

/** The whole document. Action ids are unique. */
export const actionCatalogSchema = z
  .object({ actions: z.array(actionSchema).max(500), policy: policySchema.default(policySchema.parse({})) })
  .strict()
  .superRefine((doc, ctx) => {
    const seen = new Set<string>();
    doc.actions.forEach((a, i) => {
      if (seen.has(a.id)) ctx.addIssue({ code: "custom", path: ["actions", i, "id"], message: `duplicate action id ${a.id}` });
      seen.add(a.id);
    });
    const tz = doc.policy.sendTime.defaultTimeZone;
    try {
      new Intl.DateTimeFormat("en-US", { timeZone: tz });
    } catch {
      ctx.addIssue({ code: "custom", path: ["policy", "sendTime", "defaultTimeZone"], message: `unknown IANA time zone ${tz}` });
    }
  });
export type ActionCatalog = z.infer<typeof actionCatalogSchema>;

export const EMPTY_ACTION_CATALOG: ActionCatalog = actionCatalogSchema.parse({ actions: [] });
