/**
 * Right to erasure in the aggregates: the visitor-level tables keep a visitor's pseudonymous key,
 * so they are cleared with the raw rows they come from. Day-level tables (agg_daily,
 * agg_kpi_daily, drift sums) hold counts without any visitor key and are left as they are.
 */

/** Removes the visitor's exposures (from decisions) and the outcome rows tied to them; returns rows removed. */
export async function eraseVisitorExposures(db: D1Database, visitorKey: string): Promise<number> {
  const res = await db.batch([
    db.prepare("DELETE FROM agg_exposures WHERE visitor_key = ?").bind(visitorKey),
    db.prepare("DELETE FROM agg_since WHERE visitor_key = ?").bind(visitorKey),
    // Moments (migrations/0016): per-visitor moment exposures and their KPI outcomes.
    db.prepare("DELETE FROM agg_moment_exposures WHERE visitor_key = ?").bind(visitorKey),
    // Outbound moments (migrations/0019): next-action decisions are logged under the customer's key.
    db.prepare("DELETE FROM agg_moment_outbound WHERE customer_key = ?").bind(visitorKey),
  ]);
  return res.reduce((n, r) => n + (r.meta.changes ?? 0), 0);
}

/** Removes the visitor's outcome rows (from events); returns rows removed. */
export async function eraseVisitorOutcomes(db: D1Database, visitorKey: string): Promise<number> {
  const res = await db.batch([
    db.prepare("DELETE FROM agg_visitor_days WHERE visitor_key = ?").bind(visitorKey),
    db.prepare("DELETE FROM agg_since WHERE visitor_key = ?").bind(visitorKey),
  ]);
  return res.reduce((n, r) => n + (r.meta.changes ?? 0), 0);
}
