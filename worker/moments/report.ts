/**
 * The reports broken down by moment, each moment measured by its own KPI within its own
 * attribution window, read from the moment aggregates (migrations/0016, ./aggregates.ts):
 *
 * Lift per moment (method: the same as `GET /admin/reports/lift`, worker/reports/lift.ts —
 * Wilson/Newcombe intervals for the KPI rate, Welch for revenue per visitor, the χ² SRM check):
 * a visitor is counted once per moment, from their first decision in the moment within the
 * report's days; converted = at least one KPI event from that decision to the end of the
 * moment's window; treatment = never in the universal control group then, control = always,
 * mixed visitors are left out and counted.
 *
 * Outbound lift per moment (the same method, from agg_moment_outbound, migrations/0019,
 * ./outbound-aggregates.ts): customers instead of visitors, counted once per moment from their
 * first next-action decision in the moment within the report's days; converted = at least one KPI
 * event from any linked device or their channel feedback from it to the end of the window;
 * treatment = never held out then, control = always held out (they got no message), mixed left out.
 *
 * Content per moment: per block and group, decisions, impressions, clicks, CTR (Wilson score
 * interval, clicks/impressions) and KPI events attributed to the decision within the window.
 */
import { reportWindow } from "../reports/query.ts";
import { liftReport, type GroupSummary, type LiftReport } from "../reports/lift.ts";
import { wilson, type Interval } from "../stats/proportions.ts";

interface ArmRow {
  moment: string;
  arm: "treatment" | "control" | "mixed";
  visitors: number;
  conversions: number;
  kpi_events: number;
  revenue: number;
  revenue_sq: number;
  kpi_event: string;
  window_ms: number;
}

interface BlockRow {
  moment: string;
  block_id: string;
  grp: string;
  decisions: number;
  impressions: number;
  clicks: number;
  kpi_events: number;
}

/** One moment's section of the report. */
export interface MomentSection {
  moment: string;
  /** The KPI the figures count (as recorded on the decisions), with its window. */
  kpi: { event: string; windowSeconds: number } | null;
  lift: LiftReport;
  /**
   * The lift of outbound decisions (`POST /v1/next-action`, journeys) in the moment: treatment =
   * customers never held out (their action, if one passed the guardrails, was scheduled), control =
   * held-out customers (no message); `visitors` counts customers. Same shape and method as `lift`.
   */
  outbound: LiftReport;
  content: Array<{ blockId: string; group: string; decisions: number; impressions: number; clicks: number; ctr: Interval; kpiEvents: number }>;
}

const EMPTY: GroupSummary = { visitors: 0, conversions: 0, kpiEvents: 0, revenue: { sum: 0, sumSquares: 0 } };

/**
 * The `byMoment` sections for the days of [from, to) (whole UTC days, as the lift report), for
 * `moments` (configured ids; moments seen in the aggregates are added).
 */
export async function momentReport(db: D1Database, o: { from: number; to: number; moment?: string; moments: string[]; expectedControlShare: number; confidence: number }): Promise<{ from: number; to: number; byMoment: MomentSection[] }> {
  const w = reportWindow(o.from, o.to);
  const only = o.moment ? " AND x.moment = ?" : "";
  const args = o.moment ? [w.fromDay, w.toDay, o.moment] : [w.fromDay, w.toDay];
  // Per subject (visitor, or customer for outbound) and moment: the arm over the report's days and
  // the KPI figures of their first row in it.
  const lift = (table: string, subject: string) => `
    WITH v AS (
      SELECT x.moment, x.${subject} AS subject, SUM(x.decisions) AS decisions, SUM(x.control) AS control, MIN(x.first_time) AS first_time
      FROM ${table} x WHERE x.day >= ? AND x.day < ?${only} GROUP BY 1, 2
    ), per AS (
      SELECT v.moment, CASE WHEN v.control = 0 THEN 'treatment' WHEN v.control = v.decisions THEN 'control' ELSE 'mixed' END AS arm,
        f.kpi_events, f.kpi_value, f.kpi_event, f.window_ms
      FROM v JOIN ${table} f ON f.moment = v.moment AND f.${subject} = v.subject AND f.first_time = v.first_time
    )
    SELECT moment, arm, COUNT(*) AS visitors, SUM(kpi_events > 0) AS conversions, SUM(kpi_events) AS kpi_events,
      SUM(kpi_value) AS revenue, SUM(kpi_value * kpi_value) AS revenue_sq, MAX(kpi_event) AS kpi_event, MAX(window_ms) AS window_ms
    FROM per GROUP BY 1, 2`;
  const blocks = `
    SELECT x.moment, x.block_id, x.grp, SUM(x.decisions) AS decisions, SUM(x.impressions) AS impressions, SUM(x.clicks) AS clicks, SUM(x.kpi_events) AS kpi_events
    FROM agg_moment_blocks x WHERE x.day >= ? AND x.day < ?${only} GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`;
  const [arms, content, outbound] = await db.batch<unknown>([
    db.prepare(lift("agg_moment_exposures", "visitor_key")).bind(...args),
    db.prepare(blocks).bind(...args),
    db.prepare(lift("agg_moment_outbound", "customer_key")).bind(...args),
  ]);
  const ids = new Set(o.moment ? [o.moment] : o.moments);
  for (const r of [...(arms!.results as ArmRow[]), ...(outbound!.results as ArmRow[])]) ids.add(r.moment);
  for (const r of content!.results as BlockRow[]) ids.add(r.moment);
  /** The lift of one moment's arm rows, and the KPI they were counted on. */
  const liftOf = (rows: ArmRow[]) => {
    const groups = { treatment: EMPTY, control: EMPTY };
    let mixed = 0;
    let kpi: MomentSection["kpi"] = null;
    for (const r of rows) {
      kpi ??= { event: r.kpi_event, windowSeconds: Math.round(r.window_ms / 1000) };
      if (r.arm === "mixed") mixed = r.visitors;
      else groups[r.arm] = { visitors: r.visitors, conversions: r.conversions ?? 0, kpiEvents: r.kpi_events ?? 0, revenue: { sum: r.revenue ?? 0, sumSquares: r.revenue_sq ?? 0 } };
    }
    return { kpi, lift: liftReport(groups.treatment, groups.control, { expectedControlShare: o.expectedControlShare, confidence: o.confidence, mixedVisitors: mixed }) };
  };
  const byMoment = [...ids].map((moment): MomentSection => {
    const web = liftOf((arms!.results as ArmRow[]).filter((r) => r.moment === moment));
    const out = liftOf((outbound!.results as ArmRow[]).filter((r) => r.moment === moment));
    return {
      moment,
      // A moment with outbound decisions only still says which KPI its figures count.
      kpi: web.kpi ?? out.kpi,
      lift: web.lift,
      outbound: out.lift,
      content: (content!.results as BlockRow[])
        .filter((r) => r.moment === moment)
        .map((r) => ({ blockId: r.block_id, group: r.grp, decisions: r.decisions, impressions: r.impressions, clicks: r.clicks, ctr: wilson({ n: r.impressions, x: r.clicks }, o.confidence), kpiEvents: r.kpi_events })),
    };
  });
  return { from: w.from, to: w.to, byMoment };
}
