/**
 * One lift report as a person reads it (GET /admin/reports/lift and each moment of
 * GET /admin/reports/moments answer the same figures, worker/reports/lift.ts): SRM warning first
 * and in words, the rate of each arm and the lift, each a dot with its interval against a zero
 * line, the minimum detectable lift, the other warnings. Shows the API's figures; computes none.
 */
import { html } from "../html.ts";
import { pct } from "./common.ts";
import { IntervalChart, intervalText, type ApiInterval } from "./interval-chart.ts";

export interface ArmFigures {
  visitors: number;
  conversions: number;
  rate: ApiInterval;
}
/** The lift report's figures (both routes). */
export interface LiftFigures {
  confidence: number;
  treatment: ArmFigures;
  control: ArmFigures;
  lift: { absolute: ApiInterval; relative: ApiInterval; pValue: number | null; significant: boolean };
  minimumDetectableLift: number | null;
  srm: { mismatch: boolean; pValue: number; observedControlShare: number | null; expectedControlShare: number };
  warnings: { code: string; message: string }[];
}

const p = (x: number | null) => (x === null ? "–" : x < 0.001 ? x.toExponential(1) : x.toFixed(3));

/** `title` names the experiment ("Campaign spring-sale", "Moment cart-abandon"); `kpi` its KPI. */
export function LiftView({ title, kpi, report }: { title: string; kpi: string; report: LiftFigures }) {
  const r = report;
  const srm = r.warnings.find((w) => w.code === "sample_ratio_mismatch");
  const others = r.warnings.filter((w) => w.code !== "sample_ratio_mismatch");
  const level = `${Math.round(r.confidence * 100)}%`;
  return html`<div class="lift-view">
    ${(srm || r.srm.mismatch) &&
    html`<div class="srm-warning" role="alert"><strong>⚠ Sample ratio mismatch (SRM): do not trust this lift.</strong>
      <p>${srm?.message ?? `control has ${pct(r.srm.observedControlShare)} of visitors, configured ${pct(r.srm.expectedControlShare)}`}</p></div>`}
    <p class="lift-summary">KPI <strong>${kpi}</strong>: lift <strong>${intervalText(r.lift.absolute)}</strong> (${level} interval),
      relative ${intervalText(r.lift.relative)}, p = ${p(r.lift.pValue)} — ${r.lift.significant ? "significant" : "not significant"}.
      Minimum detectable lift: ${r.minimumDetectableLift === null ? "not computable yet" : `±${pct(r.minimumDetectableLift)}`} (80% power).</p>
    <${IntervalChart}
      label=${`${title}: ${kpi} rate per arm with ${level} intervals`}
      axis=${`${kpi} rate (%)`}
      rows=${[
        { label: `Treatment, ${r.treatment.conversions}/${r.treatment.visitors}`, interval: r.treatment.rate },
        { label: `Control, ${r.control.conversions}/${r.control.visitors}`, interval: r.control.rate },
      ]}
    />
    <${IntervalChart} label=${`${title}: lift of treatment over control on ${kpi} with its ${level} interval`} rows=${[{ label: "Lift", interval: r.lift.absolute }]} />
    ${others.length > 0 && html`<ul class="warnings">${others.map((w) => html`<li><strong>${w.code.replace(/_/g, " ")}:</strong> ${w.message}</li>`)}</ul>`}
  </div>`;
}

/** The estimators the API names (`methods`), as small print. */
export function Methods({ methods }: { methods: Record<string, string> | undefined }) {
  if (!methods) return null;
  return html`<p class="methods"><small>Methods: ${Object.entries(methods).map(([k, v], i) => html`${i ? "; " : ""}<span>${k}: ${v}</span>`)}.</small></p>`;
}
