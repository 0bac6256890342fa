/**
 * Erasure of a customer's activation data (called by worker/identity/erase.ts for
 * `DELETE /admin/customers/:id`): their Outbox (pending actions are dropped, never sent), the
 * D1 rows of their actions and attempts, and their channel feedback events. The engagement
 * aggregates keep their counts (no customer key in them).
 */
import { visitorKey } from "../visitor/key.ts";
import { outboxOf } from "./schedule.ts";

/** Erases everything activation keeps about `customerKey`; returns the rows removed. Idempotent. */
export async function eraseActivation(env: Pick<Env, "DB" | "OUTBOX">, customerKey: string): Promise<number> {
  const objectRows = await outboxOf(env, customerKey).erase();
  const feedbackKey = await visitorKey(customerKey);
  const results = await env.DB.batch([
    env.DB.prepare("DELETE FROM activation_attempts WHERE decision_id IN (SELECT decision_id FROM activation_actions WHERE customer_key = ?)").bind(customerKey),
    env.DB.prepare("DELETE FROM events WHERE visitor_key = ?").bind(feedbackKey),
    env.DB.prepare("DELETE FROM activation_actions WHERE customer_key = ?").bind(customerKey),
  ]);
  return objectRows + results.reduce((n, r) => n + (r.meta.changes ?? 0), 0);
}
