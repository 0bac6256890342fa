/**
 * Sample-ratio mismatch: when the groups' sizes are far from the configured split, assignment
 * or logging is broken and no lift computed from them can be trusted.
 */
import { chiSquareSf } from "./distributions.ts";

/** Pearson's chi-square goodness of fit of counts to expected shares (shares sum to 1). */
export function chiSquareGoodnessOfFit(observed: readonly number[], shares: readonly number[]): { statistic: number; df: number; pValue: number } {
  if (observed.length !== shares.length || observed.length < 2) throw new RangeError("need at least two groups, one share each");
  const total = observed.reduce((a, b) => a + b, 0);
  let statistic = 0;
  observed.forEach((o, i) => {
    const e = total * shares[i]!;
    if (e > 0) statistic += (o - e) ** 2 / e;
    else if (o > 0) statistic = Infinity;
  });
  const df = observed.length - 1;
  return { statistic, df, pValue: total > 0 ? chiSquareSf(statistic, df) : 1 };
}

/** Outcome of the SRM check. */
export interface SrmCheck {
  expectedControlShare: number;
  observedControlShare: number | null;
  chiSquare: number;
  pValue: number;
  /** Significance threshold: a mismatch is flagged when pValue < alpha. */
  alpha: number;
  mismatch: boolean;
}

/**
 * Checks the control/treatment split against the configured control share. The default alpha
 * of 0.001 is the usual choice for SRM alarms: the check runs on every report, so it has to be
 * strict to avoid false alarms, and genuine SRMs are typically far below it.
 */
export function srmCheck(treatment: number, control: number, expectedControlShare: number, alpha = 0.001): SrmCheck {
  const total = treatment + control;
  if (total === 0) return { expectedControlShare, observedControlShare: null, chiSquare: 0, pValue: 1, alpha, mismatch: false };
  if (expectedControlShare <= 0 || expectedControlShare >= 1) {
    // A degenerate split: any visitor in the group that should be empty is a mismatch.
    const broken = expectedControlShare <= 0 ? control > 0 : treatment > 0;
    return { expectedControlShare, observedControlShare: control / total, chiSquare: broken ? Infinity : 0, pValue: broken ? 0 : 1, alpha, mismatch: broken };
  }
  const { statistic, pValue } = chiSquareGoodnessOfFit([treatment, control], [1 - expectedControlShare, expectedControlShare]);
  return { expectedControlShare, observedControlShare: control / total, chiSquare: statistic, pValue, alpha, mismatch: pValue < alpha };
}
