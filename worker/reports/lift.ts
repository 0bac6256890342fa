/**
 * The lift report from per-group sums: pure, so it is checked against simulations with a known
 * truth (test/node) and against a hand computation end to end (test/worker).
 */
import { compareMeans, meanInterval, type Moments } from "../stats/means.ts";
import { compareProportions, minimumDetectableLift, type Interval } from "../stats/proportions.ts";
import { srmCheck, type SrmCheck } from "../stats/srm.ts";

/** What the database aggregates per group: visitors, converted visitors, revenue moments. */
export interface GroupSummary {
  visitors: number;
  /** Visitors with at least one KPI event after their first exposure. */
  conversions: number;
  /** KPI events in all (a visitor may convert twice). */
  kpiEvents: number;
  /** Per-visitor revenue: Σ and Σ² over visitors (visitors without revenue count as 0). */
  revenue: { sum: number; sumSquares: number };
}

/** Inputs besides the two groups. */
export interface LiftOptions {
  /** Configured share of visitors in control (the SRM check's expectation). */
  expectedControlShare: number;
  confidence?: number;
  /** SRM significance threshold. */
  srmAlpha?: number;
  /** Visitors seen in both groups (excluded from both). */
  mixedVisitors?: number;
  /** Currencies of the conversions summed into revenue. */
  currencies?: string[];
}

/** One warning the reader must see before believing the numbers. */
export interface LiftWarning {
  code: "sample_ratio_mismatch" | "small_sample" | "underpowered" | "mixed_visitors" | "mixed_currencies" | "before_visitor_retention";
  message: string;
}

/** One group's figures. */
export interface GroupFigures {
  visitors: number;
  conversions: number;
  kpiEvents: number;
  rate: Interval;
  revenue: number;
  revenuePerVisitor: Interval;
}

/** The report. */
export interface LiftReport {
  confidence: number;
  treatment: GroupFigures;
  control: GroupFigures;
  lift: { absolute: Interval; relative: Interval; pValue: number | null; significant: boolean };
  revenuePerVisitorLift: { absolute: Interval; pValue: number | null };
  /** Smallest absolute lift detectable with 80% power at these sizes and the control's rate. */
  minimumDetectableLift: number | null;
  srm: SrmCheck;
  warnings: LiftWarning[];
}

/** Normal intervals are trustworthy from about 10 successes and 10 failures per group. */
export const MIN_OUTCOMES_PER_GROUP = 10;

const moments = (g: GroupSummary): Moments => ({ n: g.visitors, sum: g.revenue.sum, sumSquares: g.revenue.sumSquares });

function figures(g: GroupSummary, rate: Interval, confidence: number): GroupFigures {
  return {
    visitors: g.visitors,
    conversions: g.conversions,
    kpiEvents: g.kpiEvents,
    rate,
    revenue: g.revenue.sum,
    revenuePerVisitor: meanInterval(moments(g), confidence),
  };
}

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

/** Computes treatment vs control: rates, lifts with intervals, p-values, SRM, warnings. */
export function liftReport(treatment: GroupSummary, control: GroupSummary, options: LiftOptions): LiftReport {
  const confidence = options.confidence ?? 0.95;
  const cmp = compareProportions({ n: treatment.visitors, x: treatment.conversions }, { n: control.visitors, x: control.conversions }, confidence);
  const revenue = compareMeans(moments(treatment), moments(control), confidence);
  const srm = srmCheck(treatment.visitors, control.visitors, options.expectedControlShare, options.srmAlpha);
  const mde = minimumDetectableLift(treatment.visitors, control.visitors, cmp.control.estimate ?? 0, confidence);
  const significant = cmp.absoluteLift.low !== null && (cmp.absoluteLift.low > 0 || cmp.absoluteLift.high! < 0);

  const warnings: LiftWarning[] = [];
  if (srm.mismatch) {
    warnings.push({
      code: "sample_ratio_mismatch",
      message: `control has ${srm.observedControlShare === null ? "no" : pct(srm.observedControlShare)} of visitors, configured ${pct(srm.expectedControlShare)} (chi-square p = ${srm.pValue.toExponential(2)}): assignment or logging is broken, do not trust the lift`,
    });
  }
  const small = (["treatment", "control"] as const).filter((arm) => {
    const g = arm === "treatment" ? treatment : control;
    return g.conversions < MIN_OUTCOMES_PER_GROUP || g.visitors - g.conversions < MIN_OUTCOMES_PER_GROUP;
  });
  if (small.length) {
    warnings.push({
      code: "small_sample",
      message: `too few outcomes to conclude: ${small.join(" and ")} ${small.length > 1 ? "have" : "has"} fewer than ${MIN_OUTCOMES_PER_GROUP} conversions or non-conversions; the intervals are unreliable`,
    });
  } else if (!significant && mde !== null) {
    warnings.push({
      code: "underpowered",
      message: `no significant lift; at this sample size only absolute lifts beyond ±${pct(mde)} would be detected with 80% power`,
    });
  }
  if (options.mixedVisitors) {
    warnings.push({ code: "mixed_visitors", message: `${options.mixedVisitors} visitors were seen in both groups (salt or rate changed?) and are excluded` });
  }
  if ((options.currencies?.length ?? 0) > 1) {
    warnings.push({ code: "mixed_currencies", message: `revenue sums conversions in ${options.currencies!.join(", ")}; pass currency= to compare one` });
  }

  return {
    confidence,
    treatment: figures(treatment, cmp.treatment, confidence),
    control: figures(control, cmp.control, confidence),
    lift: { absolute: cmp.absoluteLift, relative: cmp.relativeLift, pValue: cmp.pValue, significant },
    revenuePerVisitorLift: { absolute: revenue.difference, pValue: revenue.pValue },
    minimumDetectableLift: mde,
    srm,
    warnings,
  };
}
