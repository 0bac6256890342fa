/**
 * identify: links a visitor (a browser's pseudonymous id) to a customer, keyed by HMAC, and
 * records the traits. The visitor's object merges its anonymous history into the customer's
 * object once and forwards to it from then on (worker/visitor/visitor-state.ts `link`). An update
 * that withdraws contact consent cancels the customer's pending outbound actions
 * (worker/activation/withdrawal.ts). D1 gets a copy of the link (./devices.ts) for the reports
 * that count a customer across devices.
 */
import { cancelWithdrawn } from "../activation/withdrawal.ts";
import { visitorKey } from "../visitor/key.ts";
import { recordDeviceLink } from "./devices.ts";
import { accountKey, accountObject, customerKey, customerObject, type IdentityEnv } from "./keys.ts";
import type { AccountTraits, ProfileTraits } from "./schema.ts";

/** A trusted identify: from a verified token, an admin upload, or unsigned mode when enabled. */
export interface Identification {
  visitorId?: string;
  customerId: string;
  traits?: ProfileTraits;
  accountId?: string;
  accountTraits?: AccountTraits;
}

export interface IdentifyResult {
  /** HMAC key of the customer id (what logs and objects know; never the id). */
  customerKey: string;
  /** True when this call moved the visitor's anonymous history into the customer's (once). */
  merged: boolean;
  profile: ProfileTraits;
}

type Bindings = IdentityEnv & Pick<Env, "VISITOR" | "OUTBOX" | "DB">;

const object = (env: Bindings, name: string) => env.VISITOR.get(env.VISITOR.idFromName(name));

/** Applies an identification: link (with a visitor id), traits, account. Idempotent. */
export async function applyIdentification(env: Bindings, who: Identification, now: number): Promise<IdentifyResult> {
  const key = await customerKey(env, who.customerId);
  const customer = customerObject(key);
  let merged = false;
  if (who.visitorId) {
    const vkey = await visitorKey(who.visitorId);
    ({ merged } = await object(env, vkey).link(customer, vkey, now));
    // The D1 copy of the link, for the outbound lift by moment (./devices.ts). Awaited, after the
    // object's link: identify is not on the decide path, and a failed write then fails the call,
    // which the site sends again (idempotent) — where waitUntil would lose the link silently and
    // leave the customer's KPI events from this device uncounted for good.
    await recordDeviceLink(env.DB, key, vkey, now);
  }
  let account: string | undefined;
  if (who.accountId) {
    account = accountObject(await accountKey(env, who.accountId));
    if (who.accountTraits) await object(env, account).setAccountTraits(who.accountTraits);
  }
  const profile = (await object(env, customer).setProfile(who.traits, account, customer)) as ProfileTraits;
  // A withdrawal in this update (marketing, an opt-in, an address) cancels what is scheduled.
  await cancelWithdrawn(env, key, who.traits?.contact);
  return { customerKey: key, merged, profile };
}

/** Sets an account's traits (admin upload of account lines). */
export async function applyAccountTraits(env: Bindings, accountId: string, traits: AccountTraits): Promise<string> {
  const key = await accountKey(env, accountId);
  await object(env, accountObject(key)).setAccountTraits(traits);
  return key;
}
