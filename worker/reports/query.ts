import { DAY_MS, dayOf, utcDay } from "../aggregates/sql.ts";
import type { GroupSummary } from "./lift.ts";

/** Which decisions and which events a lift report covers. */
export interface LiftFilter {
  /** Start, ms; rounded down to its UTC day (see {@link reportWindow}). */
  from: number;
  /** End (exclusive), ms; rounded up to a UTC midnight. */
  to: number;
  slot?: string;
  campaign?: string;
  /** A decision's `modelVersion` (name@sha12); resolve ids and prefixes first (./model.ts). */
  modelVersion?: string;
  /** `conversion`, `click`, `impression`, or the name of a custom event. */
  kpi: string;
  /** Only conversions in this currency count as revenue. */
  currency?: string;
}

/** Per-group sums, plus what the report must warn about. */
export interface LiftData {
  treatment: GroupSummary;
  control: GroupSummary;
  mixedVisitors: number;
  currencies: string[];
  /** Rows D1 read to answer (its `meta.rows_read`): grows with visitors and days, not decisions. */
  rowsRead: number;
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

/** The standard event types that are KPIs without a name. */
export const STANDARD_KPIS = ["conversion", "click", "impression"] as const;

/**
 * The aggregates keep days, so a report covers whole UTC days: `from` rounds down to its midnight,
 * `to` up to the next one (a `to` already at midnight stays). Returns ms and the 'YYYY-MM-DD' days.
 */
export function reportWindow(from: number, to: number): { from: number; to: number; fromDay: string; toDay: string } {
  const start = from - (from % DAY_MS);
  const end = to % DAY_MS === 0 ? to : to - (to % DAY_MS) + DAY_MS;
  return { from: start, to: end, fromDay: utcDay(start), toDay: utcDay(end) };
}

/** SQL matching an outcome row (alias `o`) to the KPI, and its parameter. */
function kpiMatch(kpi: string, o: string): { sql: string; arg: string } {
  return (STANDARD_KPIS as readonly string[]).includes(kpi)
    ? { sql: `${o}.type = ? AND ${o}.name = ''`, arg: kpi }
    : { sql: `${o}.type = 'custom' AND ${o}.name = ?`, arg: kpi };
}

/**
 * Treatment and control from the aggregates (migrations/0006_aggregates.sql), per visitor:
 * 1. exposure: the visitor's exposure rows of the experiment in the window's days (measurable
 *    decisions only), filtered by slot and model — the first time, and whether every or no
 *    decision was control;
 * 2. outcome: the KPI events and conversion revenue from that first exposure to the window's end:
 *    the same-day outcomes since the exposure (`agg_since`, so events before it never count), plus
 *    the whole later days (`agg_visitor_days`);
 * 3. sums per group; only three numbers per group leave the database.
 * Rows read: exposure rows (visitors × active days × slots × models) and their outcome rows —
 * never decisions or events.
 *
 * Who is control: without a campaign, the universal control group (campaign holdouts still got
 * personalisation, so they are treatment). With a campaign, visitors served the campaign
 * (treatment) against visitors held out (universal or campaign holdout) while the model would
 * have chosen it (`counterfactual_campaign`).
 */
export async function liftData(db: D1Database, f: LiftFilter): Promise<LiftData> {
  const w = reportWindow(f.from, f.to);
  const where = ["x.experiment = ?", "x.day >= ?", "x.day < ?"];
  const args: unknown[] = [f.campaign ? `campaign:${f.campaign}` : "universal", w.fromDay, w.toDay];
  if (f.slot) {
    where.push("x.slot = ?");
    args.push(f.slot);
  }
  if (f.modelVersion) {
    where.push("x.model = ?");
    args.push(f.modelVersion);
  }
  const since = kpiMatch(f.kpi, "s");
  const later = kpiMatch(f.kpi, "v");
  const currency = (o: string) => (f.currency ? ` AND ${o}.currency = ?` : "");
  const cur = f.currency ? [f.currency] : [];
  const sql = `
    WITH exposed AS (
      SELECT x.visitor_key, MIN(x.first_time) AS first_time, SUM(x.decisions) AS decisions, SUM(x.control) AS control
      FROM agg_exposures x WHERE ${where.join(" AND ")} GROUP BY x.visitor_key
    ), per_visitor AS MATERIALIZED (
      SELECT CASE WHEN control = 0 THEN 'treatment' WHEN control = decisions THEN 'control' ELSE 'mixed' END AS arm,
        COALESCE((SELECT SUM(s.events) FROM agg_since s WHERE s.visitor_key = p.visitor_key AND s.since = p.first_time AND ${since.sql}), 0)
        + COALESCE((SELECT SUM(v.events) FROM agg_visitor_days v
            WHERE v.visitor_key = p.visitor_key AND v.day > ${dayOf("p.first_time")} AND v.day < ? AND ${later.sql}), 0) AS kpi_events,
        COALESCE((SELECT SUM(s.value) FROM agg_since s
            WHERE s.visitor_key = p.visitor_key AND s.since = p.first_time AND s.type = 'conversion'${currency("s")}), 0)
        + COALESCE((SELECT SUM(v.value) FROM agg_visitor_days v
            WHERE v.visitor_key = p.visitor_key AND v.day > ${dayOf("p.first_time")} AND v.day < ? AND v.type = 'conversion'${currency("v")}), 0) AS revenue
      FROM exposed p
    )
    SELECT arm, COUNT(*) AS visitors, SUM(kpi_events > 0) AS conversions, SUM(kpi_events) AS kpi_events,
      SUM(revenue) AS revenue, SUM(revenue * revenue) AS revenue_sq
    FROM per_visitor GROUP BY arm`;
  // Anonymous parameters bind in text order: the CTE's filters, then the four subqueries.
  const bound = [...args, since.arg, w.toDay, later.arg, ...cur, w.toDay, ...cur];
  const [arms, currencies] = await db.batch<unknown>([
    db.prepare(sql).bind(...bound),
    db
      .prepare("SELECT DISTINCT currency FROM agg_kpi_daily WHERE type = 'conversion' AND name = '' AND valued > 0 AND day >= ? AND day < ? LIMIT 20")
      .bind(w.fromDay, w.toDay),
  ]);
  const out: LiftData = { treatment: EMPTY, control: EMPTY, mixedVisitors: 0, currencies: [], rowsRead: 0 };
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
  out.rowsRead = (arms!.meta.rows_read ?? 0) + (currencies!.meta.rows_read ?? 0);
  return out;
}

/** KPIs that have events (any day the aggregates keep): the standard types and custom names. */
export async function knownKpis(db: D1Database): Promise<string[]> {
  const { results } = await db.prepare("SELECT DISTINCT name FROM agg_kpi_daily WHERE type = 'custom' ORDER BY name LIMIT 200").all<{ name: string }>();
  return [...STANDARD_KPIS, ...results.map((r) => r.name)];
}

/** Whether a custom KPI has any event the aggregates keep (standard KPIs always exist). */
export async function kpiExists(db: D1Database, kpi: string): Promise<boolean> {
  if ((STANDARD_KPIS as readonly string[]).includes(kpi)) return true;
  return (await db.prepare("SELECT 1 AS x FROM agg_kpi_daily WHERE type = 'custom' AND name = ? LIMIT 1").bind(kpi).first("x")) !== null;
}
