/**
 * Overview: is nextbest healthy, and is it working. Routes:
 * - GET /admin/health: health, decisions per day with the personalised share (`decisions.days`),
 *   incidents not resolved, the pipeline (the figures of GET /admin/pipeline), the serving
 *   models (the deployment), the kill switch;
 * - GET /admin/reports/lift?kpi=: lift of the universal control group with its interval;
 * - POST /admin/kill-switch, POST /admin/incidents/:id (console/ui/overview-parts.ts).
 */
import { useState } from "preact/hooks";
import { html } from "../html.ts";
import { Plot, PlotChart } from "../ui/chart.ts";
import { ErrorBox, Loading, pct, Section, useApi, when } from "../ui/common.ts";
import { IntervalChart, intervalText, type ApiInterval } from "../ui/interval-chart.ts";
import { Incidents, KillSwitch, type ActiveIncident, type KillSwitchState } from "../ui/overview-parts.ts";
import type { ConsolePage } from "./index.ts";

interface Version {
  id: string;
  version: string;
}
interface DecisionDay {
  day: string;
  decisions: number;
  personalised: number;
  personalisedShare: number | null;
  byReason: Record<string, number>;
}
interface Health {
  ok: boolean;
  models: { champion: Version; challenger: (Version & { percent: number }) | null; shadows: Version[]; updatedBy: string | null; updatedAt: number | null };
  pipeline: {
    sent: Record<string, number>;
    stored: Record<string, number>;
    backlog: Record<string, number>;
    lost: Record<string, number | string | null>;
    deadLetters: { count: number };
    lastBatchAt: number | null;
    secondsSinceLastBatch: number | null;
    writeFailures: { count: number; lastError: string | null };
  };
  incidents: { open: number; acknowledged: number; alerts: number; active: ActiveIncident[] };
  killSwitch: KillSwitchState;
  decisions?: { days: DecisionDay[] };
}
/** The part of GET /admin/reports/lift the overview shows. */
export interface LiftAnswer {
  confidence: number;
  treatment: { visitors: number; conversions: number; rate: ApiInterval };
  control: { visitors: number; conversions: number; rate: ApiInterval };
  lift: { absolute: ApiInterval; relative: ApiInterval; pValue: number | null; significant: boolean };
  minimumDetectableLift: number | null;
  srm: { mismatch: boolean; pValue: number; observedControlShare: number | null; expectedControlShare: number };
  warnings: { code: string; message: string }[];
}

const REASONS = ["ranked", "fallback", "holdout", "default"];

function DecisionsPerDay({ days }: { days: DecisionDay[] }) {
  const rows = days.flatMap((d) => REASONS.map((reason) => ({ day: new Date(`${d.day}T00:00:00Z`), reason, decisions: d.byReason[reason] ?? 0 })));
  const share = days.filter((d) => d.personalisedShare !== null).map((d) => ({ day: new Date(`${d.day}T00:00:00Z`), share: d.personalisedShare! }));
  const total = days.reduce((a, d) => a + d.decisions, 0);
  const counts: Plot.PlotOptions = {
    height: 220,
    x: { type: "band", label: "Day (UTC)", tickFormat: (d: Date) => d.toISOString().slice(5, 10) },
    y: { label: "Decisions", grid: true },
    color: { legend: true, domain: REASONS, range: ["#2b6cb0", "#90cdf4", "#718096", "#e2e8f0"] },
    marks: [Plot.barY(rows, { x: "day", y: "decisions", fill: "reason" }), Plot.ruleY([0])],
  };
  const shares: Plot.PlotOptions = {
    height: 180,
    x: { type: "utc", label: "Day (UTC)" },
    y: { label: "Personalised share", domain: [0, 1], tickFormat: (x: number) => `${Math.round(x * 100)}%`, grid: true },
    marks: [Plot.lineY(share, { x: "day", y: "share" }), Plot.dot(share, { x: "day", y: "share", fill: "currentColor" })],
  };
  const last = days[days.length - 1];
  return html`<p data-testid="decisions-total">${total} decisions in the last ${days.length} days; today ${last?.decisions ?? 0}, personalised ${pct(last?.personalisedShare)}.</p>
    <${PlotChart} options=${counts} label=${`Decisions per day by reason over the last ${days.length} days, ${total} in all`} />
    <${PlotChart} options=${shares} label=${`Share of decisions a model personalised (reason ranked) per day; today ${pct(last?.personalisedShare)}`} />
    <details><summary>Decisions per day as a table</summary>
      <div class="table-wrap"><table><caption>Decisions per day (UTC)</caption>
        <thead><tr><th scope="col">Day</th><th scope="col">Decisions</th>${REASONS.map((r) => html`<th scope="col">${r}</th>`)}<th scope="col">Personalised</th></tr></thead>
        <tbody>${days.map((d) => html`<tr><th scope="row">${d.day}</th><td>${d.decisions}</td>${REASONS.map((r) => html`<td>${d.byReason[r] ?? 0}</td>`)}<td>${pct(d.personalisedShare)}</td></tr>`)}</tbody>
      </table></div></details>`;
}

/** The universal control group's lift on a KPI, as a chart and in words. */
function UniversalLift() {
  const [kpi, setKpi] = useState("conversion");
  const lift = useApi<LiftAnswer>(`/admin/reports/lift?kpi=${encodeURIComponent(kpi)}`);
  const l = lift.data;
  return html`<label for="overview-kpi">KPI</label>
    <select id="overview-kpi" value=${kpi} onChange=${(e: Event) => setKpi((e.target as HTMLSelectElement).value)}>
      <option value="conversion">conversion</option><option value="click">click</option>
    </select>
    <${Loading} when=${lift.loading && !l} /><${ErrorBox} error=${lift.error} />
    ${l &&
    html`<p data-testid="universal-lift">Treatment ${pct(l.treatment.rate.estimate)} of ${l.treatment.visitors} visitors, control ${pct(l.control.rate.estimate)} of ${l.control.visitors}:
        lift <strong>${intervalText(l.lift.absolute)}</strong> at ${Math.round(l.confidence * 100)}% confidence${l.lift.significant ? " (significant)" : " (not significant)"}.</p>
      <${IntervalChart} label=${`Lift of treatment over the universal control group on ${kpi}`} rows=${[{ label: `Personalised vs control (${kpi})`, interval: l.lift.absolute }]} />
      ${l.warnings.length > 0 && html`<ul class="warnings">${l.warnings.map((w) => html`<li><strong>${w.code === "sample_ratio_mismatch" ? "SRM warning" : "Note"}:</strong> ${w.message}</li>`)}</ul>`}`}`;
}

function Pipeline({ p }: { p: Health["pipeline"] }) {
  return html`<div class="table-wrap"><table><caption>Log pipeline (queue to D1)</caption>
      <thead><tr><th scope="col">Records</th><th scope="col">Sent</th><th scope="col">Stored</th><th scope="col">Backlog</th><th scope="col">Lost</th></tr></thead>
      <tbody>${["decisions", "events"].map((k) => html`<tr><th scope="row">${k}</th><td>${p.sent[k]}</td><td>${p.stored[k]}</td><td>${p.backlog[k]}</td><td>${p.lost[k]}</td></tr>`)}</tbody>
    </table></div>
    <p>Last batch ${p.lastBatchAt ? `${when(p.lastBatchAt)} (${p.secondsSinceLastBatch} s ago)` : "never"}; ${p.deadLetters.count} dead letters; ${p.writeFailures.count} write failures${p.writeFailures.lastError ? ` (latest: ${p.writeFailures.lastError})` : ""}.</p>`;
}

function Models({ m }: { m: Health["models"] }) {
  return html`<ul class="models">
      <li>Champion: <code>${m.champion.version}</code></li>
      <li>Challenger: ${m.challenger ? html`<code>${m.challenger.version}</code> on ${m.challenger.percent}% of traffic` : "none"}</li>
      <li>Shadows: ${m.shadows.length ? m.shadows.map((s, i) => html`${i ? ", " : ""}<code>${s.version}</code>`) : "none"}</li>
    </ul>
    ${m.updatedBy && html`<p class="muted">Last changed by ${m.updatedBy} at ${when(m.updatedAt)}.</p>`}`;
}

function Overview() {
  const health = useApi<Health>("/admin/health");
  const h = health.data;
  return html`<${Loading} when=${health.loading && !h} /><${ErrorBox} error=${health.error} />
    ${h &&
    html`<${Section} title="Health">
        <p class=${h.ok ? "ok" : "bad"}>${h.ok ? "Personalising, no open alert." : "Attention needed."}</p>
        <${KillSwitch} state=${h.killSwitch} onChanged=${health.reload} />
      <//>
      <${Section} title="Decisions per day">${h.decisions ? html`<${DecisionsPerDay} days=${h.decisions.days} />` : html`<p class="muted">Not reported by this server.</p>`}<//>
      <${Section} title="Lift of the universal control group"><${UniversalLift} /><//>
      <${Section} title="Incidents">
        <p>${h.incidents.open} open and ${h.incidents.acknowledged} acknowledged incidents (${h.incidents.alerts} alerts).</p>
        <${Incidents} active=${h.incidents.active} onChanged=${health.reload} />
      <//>
      <${Section} title="Log pipeline"><${Pipeline} p=${h.pipeline} /><//>
      <${Section} title="Active models"><${Models} m=${h.models} /><//>`}`;
}

export const overviewPage: ConsolePage = { id: "overview", title: "Overview", component: Overview };
