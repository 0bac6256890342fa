/**
 * Profile traits: what a CRM knows that may shape decisions. A closed list of consent-safe fields
 * (no names, e-mails, addresses, free text): an unknown field is refused, not stored. Bounded: a
 * profile is at most TRAITS_MAX_BYTES of JSON.
 */
import { z } from "zod";
import { contactTraitsSchema } from "../next-action/contact-traits.ts";

export const TRAITS_MAX_BYTES = 2048;

const label = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9 _.:-]{0,63}$/, "a short label (letters, digits, space _ . : -, at most 64)");

/** An instant in ms since the epoch, 2000–2100 (a date in seconds would be refused, not misread). */
const renewsAt = z.number().int().min(Date.UTC(2000, 0, 1)).max(Date.UTC(2100, 0, 1));

/** A customer's traits (`profile` in guardrail conditions). */
export const profileTraitsSchema = z
  .object({
    lifecycleStage: z.enum(["lead", "prospect", "trial", "customer", "churn_risk", "churned", "reactivated"]).optional(),
    plan: label.optional(),
    tier: label.optional(),
    /** Lifetime value in the site's reporting currency. */
    lifetimeValue: z.number().finite().min(0).max(1e12).optional(),
    /** When the customer's plan or subscription renews, ms since the epoch (renewal windows: `profile.renewsAt - now`). */
    renewsAt: renewsAt.optional(),
    /** Segments the site's CRM assigns (labels, at most 20). */
    segments: z.array(label).max(20).optional(),
    /** Time zone, marketing consent, channel opt-ins and reachability (worker/next-action/contact-traits.ts). */
    contact: contactTraitsSchema.optional(),
  })
  .strict()
  .refine((t) => JSON.stringify(t).length <= TRAITS_MAX_BYTES, `traits: at most ${TRAITS_MAX_BYTES} bytes of JSON`);

/** An account's traits (`account` in guardrail conditions): the company of a B2B visitor. */
export const accountTraitsSchema = z
  .object({
    plan: label.optional(),
    tier: label.optional(),
    industry: label.optional(),
    employees: z.number().int().min(0).max(10_000_000).optional(),
    /** Annual recurring revenue in the site's reporting currency. */
    arr: z.number().finite().min(0).max(1e13).optional(),
    /** When the account's contract renews, ms since the epoch. */
    renewsAt: renewsAt.optional(),
    segments: z.array(label).max(20).optional(),
  })
  .strict()
  .refine((t) => JSON.stringify(t).length <= TRAITS_MAX_BYTES, `accountTraits: at most ${TRAITS_MAX_BYTES} bytes of JSON`);

export type ProfileTraits = z.infer<typeof profileTraitsSchema>;
export type AccountTraits = z.infer<typeof accountTraitsSchema>;

/** Customer and account ids as the site knows them (keyed before anything stores them). */
export const customerIdSchema = z.string().min(1).max(256);
export const accountIdSchema = z.string().min(1).max(256);

/** What decides see of a linked visitor: `profile` and `account` in conditions and features. */
export interface Profile {
  profile: ProfileTraits;
  account: AccountTraits;
}

export const EMPTY_PROFILE: Profile = { profile: {}, account: {} };
