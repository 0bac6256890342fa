/**
 * The D1 copy of identity links, device → customer (table customer_devices, migrations/0019):
 * what the log consumer needs to count a customer's KPI events from any of their devices (the
 * outbound lift by moment, worker/moments/outbound-aggregates.ts) without asking a Durable Object
 * per event. The objects stay the source of truth (worker/visitor/visitor-state.ts `link`,
 * `linkedVisitors`); this table follows them: written when identify links a visitor, removed
 * whenever a link is erased (worker/erasure/erase.ts, worker/consent/route.ts). Pseudonymous
 * keys only: the customer's HMAC key and the device's visitor key.
 */
import { outboundRecount } from "../moments/outbound-aggregates.ts";

/**
 * Records that device `visitorKey` is linked to customer `customerKey` (idempotent: an identify
 * sent again, or for a link made before this table existed, writes it once), and recounts the
 * customer's outbound moment rows in the same transaction so KPI events the device sent before it
 * was linked count too. Rows written: 0 or 1.
 */
export async function recordDeviceLink(db: D1Database, customerKey: string, visitorKey: string, now: number): Promise<number> {
  const [insert] = await db.batch([
    db.prepare("INSERT OR IGNORE INTO customer_devices (customer_key, visitor_key, linked_at) VALUES (?, ?, ?)").bind(customerKey, visitorKey, now),
    outboundRecount(db, { customerKey }),
  ]);
  return insert!.meta.changes ?? 0;
}

/**
 * Removes every link `key` is part of, as a device (its visitor key) or as a customer (its
 * customer key). Returns rows removed. Idempotent.
 */
export async function eraseDeviceLinks(db: D1Database, key: string): Promise<number> {
  const res = await db.prepare("DELETE FROM customer_devices WHERE visitor_key = ?1 OR customer_key = ?1").bind(key).run();
  return res.meta.changes ?? 0;
}

/** The devices D1 knows linked to a customer (for tests and admins; reports use the aggregates). */
export async function linkedDevices(db: D1Database, customerKey: string): Promise<string[]> {
  const { results } = await db.prepare("SELECT visitor_key FROM customer_devices WHERE customer_key = ? ORDER BY visitor_key").bind(customerKey).all<{ visitor_key: string }>();
  return results.map((r) => r.visitor_key);
}
