/**
 * Account-level caps ("at most 2 sales-assist offers per account per week"): a cap with
 * `scope: "account"` (worker/guardrails/caps.ts) counts the exposures of every customer and
 * device of the visitor's account, kept in the account's Durable Object (`account:<HMAC key>`,
 * the same VisitorState class, which also holds the account's traits).
 *
 * The path of one decide for an identified customer whose account has caps in play:
 *   visitor object → customer object (forward) → account object `selectForAccount`.
 * The account object runs the whole selection synchronously against the customer's history and
 * its own exposures, and records what it served before answering: concurrent decides of any
 * customers of the account are serialised there, so an account cap cannot be exceeded. The
 * customer object holds its own input while it waits (blockConcurrencyWhile), so its visitor caps
 * stay atomic too. A decide with no account cap among its options, or for a visitor with no
 * account, never reaches the account object (no extra round trip); for a visitor with no account,
 * an account cap counts the visitor's own exposures (an account of one).
 *
 * The account object stores exposures without decision ids: counts per block, campaign and
 * account, nothing that points back to a person (customer erasure leaves them: they are the
 * company's, not the customer's).
 */
import type { Exposure } from "../guardrails/caps.ts";
import type { SelectionInput, SlotPick } from "../decide/select.ts";

/** Whether any cap the selection may check is account-scoped (else the account is not asked). */
export function usesAccountCaps(input: SelectionInput): boolean {
  if (input.globalCaps.some((c) => c.scope === "account")) return true;
  for (const caps of Object.values(input.campaignCaps)) if (caps.some((c) => c.scope === "account")) return true;
  for (const slot of input.slots) for (const o of slot.options) if (o.caps.some((c) => c.scope === "account")) return true;
  return false;
}

/** The exposures a selection served (what the customer's object then records). */
export function servedExposures(picks: SlotPick[], now: number): Exposure[] {
  return picks.flatMap(({ pick, decisionId }) => (pick ? [{ at: now, blockId: pick.blockId, campaign: pick.campaign, personalized: pick.personalized, decisionId }] : []));
}
