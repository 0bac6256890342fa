/**
 * The lift report's query before the aggregates (issue 13), kept as the test-only reference: it
 * scans raw decisions and events. The report now reads the aggregates; tests check both give the
 * same answer on the same data (windows of whole UTC days).
 */
import type { GroupSummary } from "../../worker/reports/lift.ts";

/** Which decisions and which events a lift report covers. */
interface LiftFilter {
  from: number;
  to: number;
  slot?: string;
  campaign?: string;
  modelVersion?: string;
  /** `conversion`, `click`, `impression`, or the name of a custom event. */
  kpi: string;
  /** Only conversions in this currency count as revenue. */
  currency?: string;
}

/** Per-group sums, plus what the report must warn about. */
interface LiftData {
  treatment: GroupSummary;
  control: GroupSummary;
  mixedVisitors: number;
  currencies: string[];
}

interface ArmRow {
  arm: "treatment" | "control" | "mixed";
  visitors: number;
  conversions: number;
  kpi_events: number;
  revenue: number;
  revenue_sq: number;
}

const EMPTY: GroupSummary = { visitors: 0, conversions: 0, kpiEvents: 0, revenue: { sum: 0, sumSquares: 0 } };

/**
 * Aggregates treatment and control in D1, per visitor key:
 * 1. exposure: the visitor's decisions in the window (with personalisation and analytics consent,
 *    i.e. in the experiment and measurable) — their first time, and whether they were control;
 * 2. outcome: the visitor's KPI events and conversion revenue from that first exposure to `to`
 *    (events before exposure cannot be caused by it);
 * 3. sums per group. Only three numbers per group leave the database.
 *
 * Who is control: without a campaign, decisions of the universal control group (campaign
 * holdouts still got personalisation, so they count as treatment). With a campaign, the
 * comparison is between visitors served the campaign (treatment) and held-out visitors for whom
 * the model would have chosen it (`counterfactual_campaign`), universal or campaign holdout.
 */
export async function liftDataFromRawRows(db: D1Database, f: LiftFilter): Promise<LiftData & { rowsRead: number }> {
  const where = ["time >= ?", "time < ?", "consent_personalization = 1", "consent_analytics = 1"];
  const args: unknown[] = [f.from, f.to];
  if (f.slot) {
    where.push("slot = ?");
    args.push(f.slot);
  }
  if (f.modelVersion) {
    where.push("model_version = ?");
    args.push(f.modelVersion);
  }
  let isControl = "(holdout = 1 AND COALESCE(holdout_scope, 'universal') = 'universal')";
  if (f.campaign) {
    where.push("((holdout = 0 AND campaign = ?) OR (holdout = 1 AND counterfactual_campaign = ?))");
    args.push(f.campaign, f.campaign);
    isControl = "holdout";
  }
  const kpiArgs: unknown[] = [];
  let kpi: string;
  if (["conversion", "click", "impression"].includes(f.kpi)) {
    kpi = "e.type = ?";
    kpiArgs.push(f.kpi);
  } else {
    kpi = "e.type = 'custom' AND e.name = ?";
    kpiArgs.push(f.kpi);
  }
  const currency = f.currency ? " AND e.currency = ?" : "";
  const sql = `
    WITH exposed AS (
      SELECT visitor_key, MIN(time) AS first_time, MIN(${isControl}) AS all_control, MAX(${isControl}) AS any_control
      FROM decisions WHERE ${where.join(" AND ")} GROUP BY visitor_key
    ), per_visitor AS (
      SELECT CASE WHEN x.any_control = 0 THEN 'treatment' WHEN x.all_control = 1 THEN 'control' ELSE 'mixed' END AS arm,
        (SELECT COUNT(*) FROM events e WHERE e.visitor_key = x.visitor_key AND e.time >= x.first_time AND e.time < ? AND ${kpi}) AS kpi_events,
        (SELECT COALESCE(SUM(e.value), 0) FROM events e
          WHERE e.visitor_key = x.visitor_key AND e.time >= x.first_time AND e.time < ? AND e.type = 'conversion'${currency}) AS revenue
      FROM exposed x
    )
    SELECT arm, COUNT(*) AS visitors, SUM(kpi_events > 0) AS conversions, SUM(kpi_events) AS kpi_events,
      SUM(revenue) AS revenue, SUM(revenue * revenue) AS revenue_sq
    FROM per_visitor GROUP BY arm`;
  // Anonymous parameters bind in text order: the CTE's filters, then the two subqueries.
  const bound = [...args, f.to, ...kpiArgs, f.to, ...(f.currency ? [f.currency] : [])];
  const [arms, currencies] = await db.batch<unknown>([
    db.prepare(sql).bind(...bound),
    db
      .prepare("SELECT DISTINCT COALESCE(currency, '') AS currency FROM events WHERE type = 'conversion' AND value IS NOT NULL AND time >= ? AND time < ? LIMIT 20")
      .bind(f.from, f.to),
  ]);
  const out = { treatment: EMPTY, control: EMPTY, mixedVisitors: 0, currencies: [] as string[], rowsRead: arms!.meta.rows_read + currencies!.meta.rows_read };
  for (const r of arms!.results as ArmRow[]) {
    if (r.arm === "mixed") {
      out.mixedVisitors = r.visitors;
      continue;
    }
    out[r.arm] = {
      visitors: r.visitors,
      conversions: r.conversions ?? 0,
      kpiEvents: r.kpi_events ?? 0,
      revenue: { sum: r.revenue ?? 0, sumSquares: r.revenue_sq ?? 0 },
    };
  }
  out.currencies = (currencies!.results as { currency: string }[]).map((r) => r.currency || "(none)");
  return out;
}
