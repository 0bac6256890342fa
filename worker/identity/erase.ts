/**
 * Erasure and consent follow identity: erasing (or withdrawing consent for) any linked id reaches
 * the customer, every visitor merged into it (events, audit rows, aggregates, lake rows, objects)
 * and the profile. Lake rows go with the next cron pass (worker/lake/erase.ts).
 */
import { eraseActivation } from "../activation/erase.ts";
import { eraseVisitorKey, type ErasureTargets } from "../erasure/erase.ts";
import type { VisitorState } from "../visitor/visitor-state.ts";
import { customerKey, customerObject, type IdentityEnv } from "./keys.ts";

type Bindings = IdentityEnv & Pick<Env, "VISITOR" | "DB" | "OUTBOX">;

const object = (env: Bindings, name: string) => env.VISITOR.get(env.VISITOR.idFromName(name)) as DurableObjectStub<VisitorState>;

export interface CustomerErasure {
  customerKey: string;
  /** Visitor keys that were linked to the customer, each erased from every store. */
  visitors: string[];
  removed: { events: number; decisions: number; visitorState: number; profile: number; activation: number };
}

/** Erases a customer's object and every visitor merged into it. Idempotent. */
export async function eraseCustomerObject(env: Bindings, name: string, targets: ErasureTargets): Promise<CustomerErasure> {
  const customer = object(env, name);
  const visitors = await customer.linkedVisitors();
  const removed = { events: 0, decisions: 0, visitorState: 0, profile: 0, activation: 0 };
  for (const key of visitors) {
    const r = await eraseVisitorKey(key, targets);
    // A store that failed: stop before the customer's object (and its list of keys) is erased,
    // so that sending the request again finds every linked visitor.
    const failed = r.notRemoved.filter((n) => n.reason.startsWith("failed"));
    if (failed.length) throw new Error(`erasing visitor ${key} failed: ${failed.map((n) => `${n.store}: ${n.reason}`).join("; ")}`);
    removed.events += r.removed.events;
    removed.decisions += r.removed.decisions;
    removed.visitorState += r.removed.visitorState;
  }
  // Scheduled outbound actions (never sent after this), their records and channel feedback.
  removed.activation = await eraseActivation(env, name.slice("customer:".length));
  removed.profile = (await customer.erase()).records;
  return { customerKey: name.slice("customer:".length), visitors, removed };
}

/** `DELETE /admin/customers/:id`: the customer by their id (keyed here, never stored). */
export async function eraseCustomer(env: Bindings, customerId: string, targets: ErasureTargets): Promise<CustomerErasure> {
  return eraseCustomerObject(env, customerObject(await customerKey(env, customerId)), targets);
}

/** The customer object a visitor is linked to, if any. */
export async function linkedCustomer(env: Bindings, visitorKey: string): Promise<string | null> {
  return object(env, visitorKey).linkedCustomer();
}
