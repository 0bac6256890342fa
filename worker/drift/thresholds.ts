/**
 * When a drift figure is `ok`, `warn` or `alert` — pure rules with configurable thresholds.
 *
 * - PSI: < 0.1 ok, 0.1–0.25 warn, ≥ 0.25 alert, the rule of thumb of credit scoring (Siddiqi
 *   2006, "Credit Risk Scorecards", Wiley, ch. 8; its sampling behaviour studied by Yurdakul
 *   2018, who shows the fixed cut-offs suit samples of a few hundred or more — hence `minCount`).
 * - Outcome rate vs its trailing 28-day mean: an exact binomial test (./metrics.ts) with a strict
 *   alpha (the check runs every day for every model and outcome, as the SRM alarm does) and a
 *   minimum relative change, so a tiny but significant move on huge traffic is not an incident.
 * - Calibration: ECE above BADLY_CALIBRATED_ECE (worker/calibration/metrics.ts) with a
 *   significant Hosmer–Lemeshow test.
 *
 * Configuration: environment variables (strings, as Worker vars are) parsed by
 * {@link driftThresholds}; anything absent or invalid keeps the default.
 */
import { z } from "zod";
import { BADLY_CALIBRATED_ECE } from "../calibration/metrics.ts";

export type DriftStatus = "ok" | "warn" | "alert" | "insufficient";

export interface DriftThresholds {
  /** PSI warn / alert (Siddiqi 2006). */
  psiWarn: number;
  psiAlert: number;
  /** Fewest observations (candidates; impressions) a day needs to be judged. */
  minCount: number;
  /** Outcome drift: significance for warn / alert, and the smallest relative change that counts. */
  outcomeAlphaWarn: number;
  outcomeAlphaAlert: number;
  outcomeMinRelativeWarn: number;
  outcomeMinRelativeAlert: number;
  /** Trailing window of the outcome mean (days) and the fewest days with data it needs. */
  trailingDays: number;
  minTrailingDays: number;
  /** Calibration: ECE warn / alert, and the Hosmer–Lemeshow significance they also need. */
  eceWarn: number;
  eceAlert: number;
  calibrationAlpha: number;
}

export const DEFAULT_DRIFT_THRESHOLDS: DriftThresholds = {
  psiWarn: 0.1,
  psiAlert: 0.25,
  minCount: 500,
  outcomeAlphaWarn: 0.001,
  outcomeAlphaAlert: 0.0001,
  outcomeMinRelativeWarn: 0.1,
  outcomeMinRelativeAlert: 0.2,
  trailingDays: 28,
  minTrailingDays: 7,
  eceWarn: BADLY_CALIBRATED_ECE,
  eceAlert: 2 * BADLY_CALIBRATED_ECE,
  calibrationAlpha: 0.001,
};

/** Environment variable → threshold. */
const ENV_NAMES: Record<string, keyof DriftThresholds> = {
  DRIFT_PSI_WARN: "psiWarn",
  DRIFT_PSI_ALERT: "psiAlert",
  DRIFT_MIN_COUNT: "minCount",
  DRIFT_OUTCOME_ALPHA_WARN: "outcomeAlphaWarn",
  DRIFT_OUTCOME_ALPHA_ALERT: "outcomeAlphaAlert",
  DRIFT_OUTCOME_MIN_RELATIVE_WARN: "outcomeMinRelativeWarn",
  DRIFT_OUTCOME_MIN_RELATIVE_ALERT: "outcomeMinRelativeAlert",
  DRIFT_ECE_WARN: "eceWarn",
  DRIFT_ECE_ALERT: "eceAlert",
};

const positive = z.coerce.number().positive().finite();

/** Thresholds from environment variables (see ENV_NAMES above) over the defaults. */
export function driftThresholds(env: object = {}, overrides: Partial<DriftThresholds> = {}): DriftThresholds {
  const out = { ...DEFAULT_DRIFT_THRESHOLDS };
  const vars = env as Record<string, unknown>;
  for (const [name, key] of Object.entries(ENV_NAMES)) {
    const parsed = positive.safeParse(vars[name]);
    if (vars[name] !== undefined && vars[name] !== "" && parsed.success) out[key] = parsed.data;
  }
  return { ...out, ...overrides };
}

/** Status of a PSI over `n` observations. */
export function psiStatus(value: number, n: number, t: DriftThresholds): DriftStatus {
  if (n < t.minCount) return "insufficient";
  return value >= t.psiAlert ? "alert" : value >= t.psiWarn ? "warn" : "ok";
}

/** Status of a day's outcome rate against its trailing mean. */
export function outcomeStatus(pValue: number | null, relativeChange: number | null, t: DriftThresholds): DriftStatus {
  if (pValue === null || relativeChange === null) return "insufficient";
  const change = Math.abs(relativeChange);
  if (pValue < t.outcomeAlphaAlert && change >= t.outcomeMinRelativeAlert) return "alert";
  if (pValue < t.outcomeAlphaWarn && change >= t.outcomeMinRelativeWarn) return "warn";
  return "ok";
}

/** Status of a day's calibration. */
export function calibrationStatus(ece: number, pValue: number, n: number, t: DriftThresholds): DriftStatus {
  if (n < t.minCount) return "insufficient";
  if (pValue >= t.calibrationAlpha) return "ok";
  return ece > t.eceAlert ? "alert" : ece > t.eceWarn ? "warn" : "ok";
}
