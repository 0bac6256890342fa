/**
 * Consent withdrawn after an action was scheduled: what was decided while the customer allowed it
 * must not be sent once they no longer do. The Outbox re-checks only channel opt-outs recorded by
 * feedback (`unsubscribed`) before a send; a withdrawal that arrives as a profile update (identify
 * claims, the CRM upload) or through `POST /v1/consent` cancels the pending actions here instead,
 * at the moment it is recorded (Braze and Adobe Journey Optimizer likewise drop a scheduled message
 * whose recipient is no longer eligible at send time).
 *
 * What cancels what (reason recorded on each cancelled action):
 *  - `contact.marketing: false` → every pending action (`marketing_withdrawn`): every outbound
 *    channel needs the `marketing` purpose (worker/next-action/guardrails.ts `consentGuard`);
 *  - `contact.optIns.<channel>: false` → that channel's (`opted_out`);
 *  - `contact.reachable.<channel>: false` → that channel's (`unreachable`): no address to send to;
 *  - personalisation withdrawn on any device of the customer → every pending action
 *    (`consent_withdrawn`): they were chosen from the customer's personal data, now erased.
 */
import type { ContactTraits } from "../next-action/contact-traits.ts";
import { cancelActions } from "./schedule.ts";
import type { CancelResult } from "./types.ts";

type Bindings = Pick<Env, "OUTBOX">;

/** The cancellations a `contact` update asks for: `channel` absent = all channels. */
export function withdrawalsOf(contact: ContactTraits | undefined): Array<{ channel?: string; reason: string }> {
  if (!contact) return [];
  if (contact.marketing === false) return [{ reason: "marketing_withdrawn" }];
  const out: Array<{ channel?: string; reason: string }> = [];
  for (const [channel, on] of Object.entries(contact.optIns ?? {})) if (on === false) out.push({ channel, reason: "opted_out" });
  for (const [channel, on] of Object.entries(contact.reachable ?? {})) if (on === false) out.push({ channel, reason: "unreachable" });
  return out;
}

/**
 * Cancels the customer's pending actions a profile update withdraws (see the list above). Calls
 * the customer's Outbox only when the update withdraws something, so an ordinary identify costs
 * no extra hop. Returns the decision ids cancelled.
 */
export async function cancelWithdrawn(env: Bindings, customerKey: string, contact: ContactTraits | undefined): Promise<string[]> {
  const cancelled: string[] = [];
  for (const w of withdrawalsOf(contact)) cancelled.push(...(await cancelActions(env, customerKey, w)).cancelled);
  return cancelled;
}

/** Personalisation consent withdrawn for a customer: every pending action is cancelled. */
export function cancelOnConsentWithdrawal(env: Bindings, customerKey: string): Promise<CancelResult> {
  return cancelActions(env, customerKey, { reason: "consent_withdrawn" });
}
