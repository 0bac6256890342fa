/**
 * Where next-action learns how a customer may be contacted: the `contact` member of the profile
 * traits (set by `POST /v1/identify` claims or the `POST /admin/profiles` CRM upload, like every
 * trait). Consent-safe like the other traits: flags and a time zone, never an address —
 * `reachable.email: true` says the CRM/ESP holds an e-mail address, not what it is.
 *
 *   "contact": { "timeZone": "Europe/Paris", "marketing": true,
 *                "optIns": { "email": true, "sms": false }, "reachable": { "email": true, "push": true } }
 *
 * `contact` merges member by member (a CRM sync that sends `optIns.email` leaves `optIns.sms`),
 * so an unsubscribe recorded by `setChannelOptIn` survives a later upload that does not name it.
 */
import { z } from "zod";
import { CHANNELS, type Channel } from "../actions/channels.ts";
import { isTimeZone } from "../send-time/tz.ts";

const perChannel = z.object(Object.fromEntries(CHANNELS.map((c) => [c, z.boolean().optional()])) as Record<Channel, z.ZodOptional<z.ZodBoolean>>).strict();

/** The `contact` trait. */
export const contactTraitsSchema = z
  .object({
    /** IANA time zone of the customer (quiet hours and send time are local). */
    timeZone: z.string().max(64).refine(isTimeZone, "an IANA time zone, e.g. Europe/Paris").optional(),
    /** Consent to the `marketing` purpose (required for every outbound channel but `sales_task`... see guardrails). */
    marketing: z.boolean().optional(),
    /** Per-channel opt-ins (absent = not opted in, for channels that need an opt-in). */
    optIns: perChannel.optional(),
    /** Whether the channel can reach the customer (has an e-mail / push token / phone / ad id). */
    reachable: perChannel.optional(),
  })
  .strict();
export type ContactTraits = z.infer<typeof contactTraitsSchema>;

/** Merges a `contact` update over the stored one, member by member. */
export function mergeContact(stored: ContactTraits | undefined, update: ContactTraits | undefined): ContactTraits | undefined {
  if (!update) return stored;
  if (!stored) return update;
  return {
    ...stored,
    ...update,
    ...(stored.optIns || update.optIns ? { optIns: { ...stored.optIns, ...update.optIns } } : {}),
    ...(stored.reachable || update.reachable ? { reachable: { ...stored.reachable, ...update.reachable } } : {}),
  };
}
