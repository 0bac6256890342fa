/**
 * Erasure and consent follow identity: erasing (or withdrawing consent for) any linked id reaches
 * the customer, every visitor merged into it (events, audit rows, aggregates, lake rows, objects)
 * and the profile. Lake rows go with the next cron pass (worker/lake/erase.ts).
 */
import { eraseActivation } from "../activation/erase.ts";
import { eraseVisitorKey, type ErasureTargets, type NotRemoved } from "../erasure/erase.ts";
import type { VisitorState } from "../visitor/visitor-state.ts";
import { customerKey, customerObject, type IdentityEnv } from "./keys.ts";

type Bindings = IdentityEnv & Pick<Env, "VISITOR" | "DB" | "OUTBOX">;

const object = (env: Bindings, name: string) => env.VISITOR.get(env.VISITOR.idFromName(name)) as DurableObjectStub<VisitorState>;

/**
 * What erasing a customer removed, store by store (`DELETE /admin/customers/:id`, and `customer`
 * in `DELETE /admin/visitors/:id` for a linked visitor). Counts are rows or records deleted by
 * this request, so sending it again reports zeros (it is idempotent).
 */
export interface CustomerErasure {
  customerKey: string;
  /** Visitor keys that were linked to the customer, each erased from every store. */
  visitors: string[];
  /** False when a store failed (`notRemoved` says which; the same request again finishes). */
  complete: boolean;
  removed: {
    /** D1 event rows of the linked visitors (their outcome aggregates go with them). */
    events: number;
    /** D1 audit rows (decisions) of the linked visitors (their exposure aggregates go with them). */
    decisions: number;
    /** Records left in the linked visitors' own objects (exposures, counters, conversions). */
    visitorState: number;
    /** Records of the customer's object: exposures, lifetime counters, conversions of every device. */
    customerState: number;
    /** The customer's profile (traits): 1 when one was stored, else 0. */
    profile: number;
    /** Visitor ↔ customer links removed (each linked visitor's merge record). */
    links: number;
    /** Outbound actions (worker/activation/): scheduled ones (never sent after this), delivery records and channel feedback. */
    activation: number;
  };
  notRemoved: NotRemoved[];
  /**
   * The lake's copies: a rewrite is queued per linked visitor and table; the daily retention cron
   * (wrangler.toml, 03:17 UTC) or `POST /admin/lake/flush` rewrites the files, then they are gone.
   */
  lake: { status: "queued" | "nothing_to_erase"; visitors: number };
}

/** Erases a customer's object and every visitor merged into it. Idempotent. */
export async function eraseCustomerObject(env: Bindings, name: string, targets: ErasureTargets): Promise<CustomerErasure> {
  const customer = object(env, name);
  const visitors = await customer.linkedVisitors();
  const removed = { events: 0, decisions: 0, visitorState: 0, customerState: 0, profile: 0, links: 0, activation: 0 };
  const notRemoved: NotRemoved[] = [];
  // The customer key itself too: next-action decisions are logged under it (worker/next-action/).
  for (const key of [...visitors, name.slice("customer:".length)]) {
    const r = await eraseVisitorKey(key, targets);
    // A store that failed: stop before the customer's object (and its list of keys) is erased,
    // so that sending the request again finds every linked visitor.
    const failed = r.notRemoved.filter((n) => n.reason.startsWith("failed"));
    if (failed.length) throw new Error(`erasing visitor ${key} failed: ${failed.map((n) => `${n.store}: ${n.reason}`).join("; ")}`);
    notRemoved.push(...r.notRemoved);
    removed.events += r.removed.events;
    removed.decisions += r.removed.decisions;
    removed.visitorState += r.removed.visitorState;
  }
  // Scheduled outbound actions (never sent after this), their records and channel feedback.
  removed.activation = await eraseActivation(env, name.slice("customer:".length));
  const erased = await customer.erase();
  removed.customerState = erased.records;
  removed.profile = erased.profile ?? 0;
  removed.links = erased.links ?? 0;
  return { customerKey: name.slice("customer:".length), visitors, complete: true, removed, notRemoved, lake: { status: visitors.length ? "queued" : "nothing_to_erase", visitors: visitors.length } };
}

/** `DELETE /admin/customers/:id`: the customer by their id (keyed here, never stored). */
export async function eraseCustomer(env: Bindings, customerId: string, targets: ErasureTargets): Promise<CustomerErasure> {
  return eraseCustomerObject(env, customerObject(await customerKey(env, customerId)), targets);
}

/** The customer object a visitor is linked to, if any. */
export async function linkedCustomer(env: Bindings, visitorKey: string): Promise<string | null> {
  return object(env, visitorKey).linkedCustomer();
}
