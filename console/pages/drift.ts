/**
 * Drift: per model and feature, the population stability index (PSI) over time with the warn and
 * alert thresholds drawn as rules; the score's PSI, the outcome rates against their trailing
 * mean and calibration (ECE) as the API computed them daily.
 *
 * Route: `GET /admin/drift?model=&from=&to=` (worker/drift/route.ts): `{ window, thresholds,
 * models: [{ model, baseline, features, score, outcomes, calibration }], series }`. The address
 * keeps the state: `#/drift?model=<version>&feature=<name>&from=YYYY-MM-DD&to=YYYY-MM-DD`.
 */
import { useMemo } from "preact/hooks";
import { html } from "../html.ts";
import { Plot, PlotChart } from "../ui/chart.ts";
import { ErrorBox, Loading, Section, useApi } from "../ui/common.ts";
import type { ConsolePage, PageProps } from "./index.ts";

type Status = "ok" | "warn" | "alert" | "insufficient";
interface Point {
  model: string;
  kind: "feature" | "score" | "outcome" | "calibration";
  subject: string;
  day: string;
  status: Status;
  baseline: string;
  n: number;
  value: number | null;
}
interface Latest {
  model: string;
  baseline: string | null;
  features: (Point & { feature: string; psi: number | null; js: number | null })[];
  score: (Point & { psi: number | null }) | null;
  outcomes: (Point & { outcome: string; rate: number | null })[];
  calibration: (Point & { outcome: string; ece: number | null })[];
}
interface DriftAnswer {
  window: { from: string; to: string };
  thresholds: { psiWarn: number; psiAlert: number; minCount: number; eceWarn: number; eceAlert: number };
  models: Latest[];
  series: Point[];
}

const num = (x: number | null | undefined, digits = 3) => (x === null || x === undefined || !Number.isFinite(x) ? "–" : x.toFixed(digits));
const STATUS_CLASS: Record<Status, string> = { ok: "ok", warn: "warn", alert: "bad", insufficient: "muted" };
const StatusText = ({ status }: { status: Status }) => html`<span class=${`status ${STATUS_CLASS[status]}`}>${status}</span>`;

/** A daily series with horizontal threshold rules (warn dashed, alert solid). */
function SeriesChart({ points, yLabel, rules, label }: { points: Point[]; yLabel: string; rules: { y: number; name: string }[]; label: string }) {
  const options = useMemo(() => {
    const data = points.filter((p) => p.value !== null).map((p) => ({ ...p, date: new Date(`${p.day}T00:00:00Z`) }));
    return {
      width: 760,
      height: 320,
      marginRight: 60,
      x: { type: "utc", label: "day (UTC)" },
      y: { label: yLabel, grid: true, zero: true },
      color: { legend: new Set(data.map((d) => d.subject)).size > 1 },
      marks: [
        ...rules.map((r, i) => Plot.ruleY([r.y], { stroke: i === 0 ? "#b26a00" : "#c62828", strokeDasharray: i === 0 ? "6 4" : undefined })),
        ...rules.map((r, i) => Plot.text([r], { y: "y", frameAnchor: "right", dx: 56, text: (d: { name: string }) => d.name, fill: i === 0 ? "#b26a00" : "#c62828" })),
        Plot.line(data, { x: "date", y: "value", stroke: "subject" }),
        Plot.dot(data, { x: "date", y: "value", fill: "subject", r: 3, title: (d: Point) => `${d.subject || "score"} ${d.day}: ${num(d.value)} (${d.status}, n=${d.n})` }),
      ],
    } as Plot.PlotOptions;
  }, [points, yLabel, rules]);
  if (!points.some((p) => p.value !== null)) return html`<p class="muted">No values in this window.</p>`;
  return html`<${PlotChart} options=${options} label=${label} />`;
}

function Drift({ params, navigate }: PageProps) {
  const query = new URLSearchParams();
  for (const k of ["model", "from", "to"]) if (params.get(k)) query.set(k, params.get(k)!);
  const drift = useApi<DriftAnswer>(`/admin/drift${query.size ? `?${query}` : ""}`);
  const d = drift.data;
  const go = (changes: Record<string, string>) => {
    const next: Record<string, string> = {};
    for (const [k, v] of params) next[k] = v;
    for (const [k, v] of Object.entries(changes)) if (v) next[k] = v; else delete next[k];
    navigate("drift", next);
  };
  const modelId = params.get("model") ?? d?.models[0]?.model;
  const latest = d?.models.find((m) => m.model === modelId);
  const feature = params.get("feature") ?? "";
  const featureSeries = useMemo(() => (d?.series ?? []).filter((p) => p.model === modelId && p.kind === "feature" && (!feature || p.subject === feature)), [d, modelId, feature]);
  const scoreSeries = useMemo(() => (d?.series ?? []).filter((p) => p.model === modelId && p.kind === "score"), [d, modelId]);
  const t = d?.thresholds;
  const psiRules = useMemo(() => (t ? [{ y: t.psiWarn, name: `warn ${t.psiWarn}` }, { y: t.psiAlert, name: `alert ${t.psiAlert}` }] : []), [t]);
  const features = [...new Set((d?.series ?? []).filter((p) => p.model === modelId && p.kind === "feature").map((p) => p.subject))].sort();

  return html`<form class="inline" onSubmit=${(e: Event) => {
      e.preventDefault();
      const f = new FormData(e.currentTarget as HTMLFormElement);
      go({ from: String(f.get("from") ?? ""), to: String(f.get("to") ?? "") });
    }}>
      <div class="field">
        <label for="drift-model">Model</label>
        <select id="drift-model" value=${modelId ?? ""} onChange=${(e: Event) => go({ model: (e.currentTarget as HTMLSelectElement).value, feature: "" })}>
          ${(d?.models ?? []).map((m) => html`<option value=${m.model}>${m.model}</option>`)}
          ${!modelId && html`<option value="">no model with drift yet</option>`}
          ${modelId && !d?.models.some((m) => m.model === modelId) && html`<option value=${modelId}>${modelId}</option>`}
        </select>
      </div>
      <div class="field">
        <label for="drift-feature">Feature</label>
        <select id="drift-feature" value=${feature} onChange=${(e: Event) => go({ feature: (e.currentTarget as HTMLSelectElement).value })}>
          <option value="">all features</option>
          ${features.map((f) => html`<option value=${f}>${f}</option>`)}
        </select>
      </div>
      <div class="field">
        <label for="drift-from">From</label>
        <input id="drift-from" name="from" type="date" value=${params.get("from") ?? d?.window.from ?? ""} />
      </div>
      <div class="field">
        <label for="drift-to">To</label>
        <input id="drift-to" name="to" type="date" value=${params.get("to") ?? d?.window.to ?? ""} />
      </div>
      <button type="submit">Show</button>
    </form>
    <${Loading} when=${drift.loading} /><${ErrorBox} error=${drift.error} />
    ${d && d.models.length === 0 && html`<p>No drift series in ${d.window.from} – ${d.window.to}: drift is computed daily from served decisions.</p>`}
    ${d && latest && t &&
    html`<${Section} title="Feature PSI over time" id="drift-features">
        <p class="muted">PSI of each feature against the ${latest.baseline ?? "–"} baseline, ${d.window.from} – ${d.window.to}. Warn at ${t.psiWarn}, alert at ${t.psiAlert}; days with fewer than ${t.minCount} observations are “insufficient”.</p>
        <${SeriesChart} points=${featureSeries} yLabel="PSI" rules=${psiRules} label=${`PSI per day of ${feature || "every feature"} of ${modelId}, with the warn (${t.psiWarn}) and alert (${t.psiAlert}) thresholds as horizontal rules`} />
        <div class="table-wrap" tabindex="0"><table><caption>Latest day per feature</caption>
          <thead><tr><th scope="col">Feature</th><th scope="col">Day</th><th scope="col">PSI</th><th scope="col">Jensen–Shannon</th><th scope="col">n</th><th scope="col">Status</th></tr></thead>
          <tbody>${latest.features.map((f) => html`<tr><th scope="row">${f.feature}</th><td>${f.day}</td><td>${num(f.psi)}</td><td>${num(f.js)}</td><td>${f.n}</td><td><${StatusText} status=${f.status} /></td></tr>`)}</tbody></table></div>
      <//>
      <${Section} title="Score distribution" id="drift-score">
        <${SeriesChart} points=${scoreSeries} yLabel="PSI of the score" rules=${psiRules} label=${`PSI per day of the score distribution of ${modelId}, with the warn and alert thresholds`} />
        ${latest.score && html`<p>Latest (${latest.score.day}): PSI ${num(latest.score.psi)}, <${StatusText} status=${latest.score.status} />.</p>`}
      <//>
      <${Section} title="Outcomes and calibration" id="drift-outcomes">
        <div class="table-wrap" tabindex="0"><table><caption>Latest outcome rates (against their trailing mean) and calibration (ECE, warn at ${t.eceWarn}, alert at ${t.eceAlert})</caption>
          <thead><tr><th scope="col">Figure</th><th scope="col">Day</th><th scope="col">Value</th><th scope="col">Baseline</th><th scope="col">n</th><th scope="col">Status</th></tr></thead>
          <tbody>
            ${latest.outcomes.map((o) => html`<tr><th scope="row">${o.outcome} rate</th><td>${o.day}</td><td>${num(o.rate, 4)}</td><td>${o.baseline}</td><td>${o.n}</td><td><${StatusText} status=${o.status} /></td></tr>`)}
            ${latest.calibration.map((c) => html`<tr><th scope="row">${c.outcome} ECE</th><td>${c.day}</td><td>${num(c.ece, 4)}</td><td>${c.baseline}</td><td>${c.n}</td><td><${StatusText} status=${c.status} /></td></tr>`)}
          </tbody></table></div>
      <//>`}`;
}

export const driftPage: ConsolePage = { id: "drift", title: "Drift", component: Drift };
