/**
 * Outcome-rate and calibration drift from the aggregates (agg_daily, agg_calibration):
 * - per model × outcome (click, conversion) × day: the rate per impression of the blocks the
 *   model served (treatment group) against its trailing 28-day mean (the 28 days before, pooled),
 *   with the exact two-sided binomial test (./metrics.ts);
 * - per model × outcome × day: predicted vs observed rate per reliability bin of the served
 *   block's score, ECE and the Hosmer–Lemeshow test (./metrics.ts).
 * Counts are by the decision's day (events are attributed to their decision), so a day keeps
 * growing while late clicks arrive; computeDrift recomputes the last days for that reason.
 */
import { baseVersion, loadManifestBaselines } from "../aggregates/drift-bins.ts";
import { DAY_MS } from "../aggregates/sql.ts";
import { outcomeOf } from "../ranking/manifest.ts";
import { binomialTest, calibrationDrift, type CalibrationBin } from "./metrics.ts";
import type { DriftPoint } from "./series.ts";
import { calibrationStatus, outcomeStatus, type DriftThresholds } from "./thresholds.ts";

const OUTCOMES = ["click", "conversion"] as const;

/** 'YYYY-MM-DD' shifted by `days`. */
export function shiftDay(day: string, days: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}

interface DailyRow {
  day: string;
  model: string;
  impressions: number;
  click: number;
  conversion: number;
}

/** Outcome drift points for the days from `from` to `to`. */
export async function outcomeDrift(db: D1Database, from: string, to: string, t: DriftThresholds): Promise<DriftPoint[]> {
  const { results } = await db
    .prepare(
      `SELECT day, model, SUM(impressions) AS impressions, SUM(clicks) AS click, SUM(conversions) AS conversion FROM agg_daily
       WHERE grp = 'treatment' AND model != '' AND day >= ?1 AND day <= ?2 GROUP BY 1, 2`,
    )
    .bind(shiftDay(from, -t.trailingDays), to)
    .all<DailyRow>();
  const byModel = new Map<string, Map<string, DailyRow>>();
  for (const r of results) {
    if (!byModel.has(r.model)) byModel.set(r.model, new Map());
    byModel.get(r.model)!.set(r.day, r);
  }
  const out: DriftPoint[] = [];
  for (const [model, days] of byModel) {
    for (const [day, today] of days) {
      if (day < from) continue;
      for (const outcome of OUTCOMES) {
        let n0 = 0;
        let x0 = 0;
        let trailing = 0;
        for (let k = 1; k <= t.trailingDays; k++) {
          const r = days.get(shiftDay(day, -k));
          if (!r || r.impressions <= 0) continue;
          trailing++;
          n0 += r.impressions;
          x0 += Math.min(r[outcome], r.impressions);
        }
        const n = today.impressions;
        const x = Math.min(today[outcome], n);
        const rate = n > 0 ? x / n : null;
        const p0 = n0 > 0 ? x0 / n0 : null;
        const judged = trailing >= t.minTrailingDays && n >= t.minCount && p0 !== null && p0 > 0;
        const pValue = judged ? binomialTest(x, n, p0) : null;
        const relativeChange = judged && rate !== null ? rate / p0 - 1 : null;
        out.push({
          model,
          kind: "outcome",
          subject: outcome,
          day,
          baseline: "trailing_28d",
          n,
          value: rate,
          status: outcomeStatus(pValue, relativeChange, t),
          figures: { rate, trailingRate: p0, relativeChange, pValue, impressions: n, outcomes: x, trailingImpressions: n0, trailingDays: trailing },
        });
      }
    }
  }
  return out;
}

interface CalibrationRow {
  day: string;
  model: string;
  bin: number;
  impressions: number;
  sum_p: number;
  clicks: number;
  conversions: number;
}

/** Calibration drift points for the days from `from` to `to` (probability scores of served blocks). */
export async function calibrationDriftPoints(db: D1Database, from: string, to: string, t: DriftThresholds): Promise<DriftPoint[]> {
  const { results } = await db
    .prepare("SELECT day, model, bin, impressions, sum_p, clicks, conversions FROM agg_calibration WHERE day >= ?1 AND day <= ?2 ORDER BY model, day, bin")
    .bind(from, to)
    .all<CalibrationRow>();
  const groups = new Map<string, CalibrationRow[]>();
  for (const r of results) {
    const id = `${r.model}\u0000${r.day}`;
    if (!groups.has(id)) groups.set(id, []);
    groups.get(id)!.push(r);
  }
  const manifests = await loadManifestBaselines(db, new Set(results.map((r) => r.model)));
  const out: DriftPoint[] = [];
  for (const [id, rows] of groups) {
    const [model, day] = id.split("\u0000") as [string, string];
    // Calibration against what the model predicts (its manifest's outcome; click when unknown).
    const manifest = manifests.get(baseVersion(model));
    const outcome = outcomeOf(manifest ?? {});
    // Only probabilities can be calibrated; a `score` model's output is any monotone score.
    if ((outcome !== "click" && outcome !== "conversion") || manifest?.output === "score") continue;
    const bins: CalibrationBin[] = rows.map((r) => ({ bin: r.bin, n: r.impressions, sumP: r.sum_p, positives: outcome === "click" ? r.clicks : r.conversions }));
    const c = calibrationDrift(bins);
    out.push({
      model,
      kind: "calibration",
      subject: outcome,
      day,
      baseline: "predicted",
      n: c.n,
      value: c.n > 0 ? c.ece : null,
      status: c.n > 0 ? calibrationStatus(c.ece, c.pValue, c.n, t) : "insufficient",
      figures: { ece: c.ece, hosmerLemeshow: c.hosmerLemeshow, df: c.df, pValue: c.pValue, impressions: c.n, eceWarn: t.eceWarn, eceAlert: t.eceAlert, bins: c.bins },
    });
  }
  return out;
}
