/**
 * Reason codes for excluded candidates. Every candidate that is not served carries one, in the
 * decision's debug output and in the audit trail.
 */
export const REASONS = {
  consent: "the block needs a consent purpose the visitor has not given",
  excluded_visitor: "the visitor is on a suppression list (global or the block's campaign)",
  excluded_email: "the visitor's hashed email is on a suppression list",
  converted: "the visitor already converted on this campaign",
  not_started: "the block's start date is in the future",
  ended: "the block's end date has passed",
  country: "the visitor's country is not eligible",
  device: "the visitor's device type is not eligible",
  url: "the page URL matches none of the block's URL patterns",
  page_tags: "the page lacks a tag the block requires",
  condition: "the block's signal condition is false",
  brand_conflict: "a block tag must not appear on pages with one of the page's tags",
  promo_limit: "the page already has the maximum number of promotional blocks",
  campaign_repeat: "the page already shows a block of this campaign",
  region_restricted: "the block's content is not allowed in the visitor's region",
  age_gate: "age-gated content needs a declared age at or above the minimum",
  cap_block: "frequency cap of the block reached",
  cap_campaign: "frequency cap of the campaign reached",
  cap_global: "global cap of personalised blocks reached",
  cap_account: "account-level frequency cap reached (exposures of every customer and device of the visitor's account)",
  cap_state_unavailable: "frequency-capped block while the visitor state could not be read",
  used_on_page: "already chosen for another slot of this page",
  campaign_holdout: "the visitor is in this campaign's holdout group",
} as const;

export type ReasonCode = keyof typeof REASONS;

/** Outcome of one rule for one candidate. */
export type RuleOutcome = { pass: true } | { pass: false; reason: ReasonCode; detail?: string };

export const PASS: RuleOutcome = { pass: true };

/** Shorthand for a failed rule. */
export function fail(reason: ReasonCode, detail?: string): RuleOutcome {
  return detail === undefined ? { pass: false, reason } : { pass: false, reason, detail };
}

/** A candidate that was not served, and why. */
export interface Exclusion {
  blockId: string;
  reason: ReasonCode;
  detail?: string;
}
