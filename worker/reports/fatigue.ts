/**
 * Creative fatigue of one block: does its click rate fall as the same visitor sees it again, or
 * week after week? Pure: the sums come from the aggregates (agg_fatigue).
 *
 * Methods (worker/stats/): click rates with Wilson score intervals; the trend across views
 * (1st, 2nd, 3rd+; scores 1, 2, 3) and across weeks (scores 0, 1, 2, …) with the Cochran–Armitage
 * test for trend (Agresti 2002, §5.3.5), one-sided against a fall; first view vs 3rd+ with
 * Newcombe's interval and the pooled two-proportion z-test. A block is flagged ("refresh this
 * creative") when either trend falls with one-sided p < alpha/2 — Bonferroni over the two tests —
 * and the groups compared each have at least `minImpressions` impressions.
 */
import { DAY_MS } from "../aggregates/sql.ts";
import { compareProportions, wilson, type Interval } from "../stats/proportions.ts";
import { cochranArmitage, type TrendTest } from "../stats/trend.ts";
import type { FatigueCell } from "./content-query.ts";

/** The view-count groups reported: 1st, 2nd, 3rd and later. */
export const VIEW_GROUPS = ["1", "2", "3+"] as const;

export interface FatigueLevel {
  views: (typeof VIEW_GROUPS)[number];
  decisions: number;
  impressions: number;
  clicks: number;
  /** Clicks per impression, Wilson score interval. */
  clickRate: Interval;
}

export interface FatigueWeek {
  week: number;
  /** First UTC day of the week (the window's start + 7 × week days). */
  from: string;
  impressions: number;
  clicks: number;
  clickRate: Interval;
  byViews: FatigueLevel[];
}

export interface Fatigue {
  byViews: FatigueLevel[];
  /** Cochran–Armitage across 1st, 2nd, 3rd+ views (null when undefined, e.g. no clicks). */
  viewTrend: TrendTest | null;
  /** 3rd+ views against first views: difference, ratio − 1, two-proportion z-test p-value. */
  repeatVsFirst: { absolute: Interval; relative: Interval; pValue: number | null };
  weeks: FatigueWeek[];
  /** Cochran–Armitage across the weeks of the window. */
  weekTrend: TrendTest | null;
  flagged: boolean;
  reasons: Array<"falls_with_repeat_views" | "falls_over_weeks">;
}

export interface FatigueOptions {
  alpha: number;
  minImpressions: number;
  confidence: number;
  /** Start of the window, ms (for the weeks' dates). */
  from: number;
}

const group = (exposure: number) => (exposure <= 1 ? 0 : exposure === 2 ? 1 : 2);

function levels(cells: FatigueCell[], confidence: number): FatigueLevel[] {
  const sums = VIEW_GROUPS.map(() => ({ decisions: 0, impressions: 0, clicks: 0 }));
  for (const c of cells) {
    const s = sums[group(c.exposure)]!;
    s.decisions += c.decisions;
    s.impressions += c.impressions;
    s.clicks += c.clicks;
  }
  return sums.map((s, i) => ({ views: VIEW_GROUPS[i]!, ...s, clickRate: wilson({ n: s.impressions, x: Math.min(s.clicks, s.impressions) }, confidence) }));
}

const counts = (l: { impressions: number; clicks: number }) => ({ n: l.impressions, x: Math.min(l.clicks, l.impressions) });

/** The fatigue analysis of one block's cells (any order). */
export function fatigueOf(cells: FatigueCell[], o: FatigueOptions): Fatigue {
  const byViews = levels(cells, o.confidence);
  const withData = byViews.filter((l) => l.impressions > 0);
  const viewTrend = withData.length >= 2 ? cochranArmitage(withData.map(counts), withData.map((l) => VIEW_GROUPS.indexOf(l.views) + 1)) : null;
  const cmp = compareProportions(counts(byViews[2]!), counts(byViews[0]!), o.confidence);

  const weekNumbers = [...new Set(cells.map((c) => c.week))].sort((a, b) => a - b);
  const weeks = weekNumbers.map((week): FatigueWeek => {
    const byViewsOfWeek = levels(cells.filter((c) => c.week === week), o.confidence);
    const impressions = byViewsOfWeek.reduce((a, l) => a + l.impressions, 0);
    const clicks = byViewsOfWeek.reduce((a, l) => a + l.clicks, 0);
    return {
      week,
      from: new Date(o.from + week * 7 * DAY_MS).toISOString().slice(0, 10),
      impressions,
      clicks,
      clickRate: wilson({ n: impressions, x: Math.min(clicks, impressions) }, o.confidence),
      byViews: byViewsOfWeek,
    };
  });
  const measuredWeeks = weeks.filter((w) => w.impressions > 0);
  const weekTrend = measuredWeeks.length >= 2 ? cochranArmitage(measuredWeeks.map(counts), measuredWeeks.map((w) => w.week)) : null;

  const reasons: Fatigue["reasons"] = [];
  const enough = (xs: { impressions: number }[]) => xs.length >= 2 && xs[0]!.impressions >= o.minImpressions && xs.at(-1)!.impressions >= o.minImpressions;
  if (viewTrend && viewTrend.pDecreasing < o.alpha / 2 && enough(withData)) reasons.push("falls_with_repeat_views");
  if (weekTrend && weekTrend.pDecreasing < o.alpha / 2 && enough(measuredWeeks)) reasons.push("falls_over_weeks");
  return {
    byViews,
    viewTrend,
    repeatVsFirst: { absolute: cmp.absoluteLift, relative: cmp.relativeLift, pValue: cmp.pValue },
    weeks,
    weekTrend,
    flagged: reasons.length > 0,
    reasons,
  };
}
