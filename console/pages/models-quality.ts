/**
 * A model's quality on logged traffic, as the API computes it (no statistics here):
 * - `POST /admin/models/:id/evaluate` `{ from?, to?, reward, limit? }`: off-policy estimates
 *   (IPS, SNIPS, DR with intervals) and `comparison`, the candidate against the champion on the
 *   same decisions with the paired difference and a verdict (worker/evaluation/route.ts).
 * - `GET /admin/models/:id/calibration?outcome=&from=&to=`: the reliability curve (10 equal-width
 *   bins: mean predicted vs observed rate), ECE, Brier, log-loss, AUC and a verdict
 *   (worker/calibration/route.ts), drawn with Observable Plot against the diagonal.
 */
import { useMemo, useState } from "preact/hooks";
import { api } from "../api.ts";
import { html } from "../html.ts";
import { Plot, PlotChart } from "../ui/chart.ts";
import { ErrorBox, Loading, Section, useApi } from "../ui/common.ts";
import type { ModelRow } from "./models.ts";

interface Interval {
  estimate: number | null;
  low: number | null;
  high: number | null;
}
interface Side {
  ips: Interval;
  snips: Interval;
  dr: Interval | null;
  effectiveSampleSize: number;
  agreement: number;
}
interface Evaluation {
  model: { id: string; version: string };
  reward: string;
  window: { from: number; to: number };
  logged: number;
  evaluated: number;
  loggedPolicy: Interval;
  comparison: {
    method: string;
    champion: { id: string; version: string };
    evaluated: number;
    candidate: Side;
    championEstimates: Side;
    difference: { ips: Interval; dr: Interval | null };
    verdict: "candidate_better" | "champion_better" | "inconclusive";
  } | null;
  warnings: string[];
}

const num = (x: number | null | undefined, digits = 4) => (x === null || x === undefined || !Number.isFinite(x) ? "–" : x.toFixed(digits));
/** An estimate with its interval, as the API gave it. */
const interval = (i: Interval | null | undefined) => (i && i.estimate !== null ? `${num(i.estimate)} [${num(i.low)}, ${num(i.high)}]` : "–");
const VERDICT: Record<string, string> = {
  candidate_better: "The candidate is better (the interval of the difference is above 0).",
  champion_better: "The champion is better (the interval of the difference is below 0).",
  inconclusive: "Inconclusive: the interval of the difference includes 0.",
};

/** Off-policy evaluation of `model` against the champion, side by side. */
export function EvaluationPanel({ model, champion }: { model: ModelRow; champion: { id: string; version: string } }) {
  const [reward, setReward] = useState("click");
  const [days, setDays] = useState("30");
  const [result, setResult] = useState<Evaluation | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [busy, setBusy] = useState(false);
  const run = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setResult(null);
    try {
      const to = Date.now();
      setResult(await api<Evaluation>(`/admin/models/${model.id}/evaluate`, { json: { reward, from: to - Number(days) * 86_400_000, to } }));
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  };
  const c = result?.comparison;
  return html`<${Section} title=${`Evaluate ${model.version} against the champion`} id="evaluate">
    <p class="muted">Champion now: <code>${champion.version}</code>. Replays the logged decisions with each model (off-policy: no visitor sees the candidate).</p>
    <form class="inline" onSubmit=${run}>
      <div class="field">
        <label for="eval-reward">Reward</label>
        <select id="eval-reward" value=${reward} onChange=${(e: Event) => setReward((e.currentTarget as HTMLSelectElement).value)}>
          <option value="click">click</option><option value="conversion">conversion</option><option value="value">value</option>
        </select>
      </div>
      <div class="field">
        <label for="eval-days">Last days</label>
        <input id="eval-days" type="number" min="1" max="366" value=${days} onInput=${(e: Event) => setDays((e.currentTarget as HTMLInputElement).value)} />
      </div>
      <button type="submit" disabled=${busy}>Evaluate</button>
    </form>
    ${busy && html`<p role="status">Replaying logged decisions…</p>`}
    <${ErrorBox} error=${error} />
    ${result &&
    html`<p>${result.evaluated} of ${result.logged} logged decisions replayed; logged policy's mean ${result.reward}: ${interval(result.loggedPolicy)}.</p>
      ${c
        ? html`<div class="table-wrap" tabindex="0"><table class="evaluation">
            <caption>Candidate vs champion on the same ${c.evaluated} decisions (estimate [interval])</caption>
            <thead><tr><th scope="col">Estimate</th><th scope="col">Candidate <code>${result.model.version}</code></th><th scope="col">Champion <code>${c.champion.version}</code></th><th scope="col">Difference</th></tr></thead>
            <tbody>
              <tr><th scope="row">IPS</th><td>${interval(c.candidate.ips)}</td><td>${interval(c.championEstimates.ips)}</td><td>${interval(c.difference.ips)}</td></tr>
              <tr><th scope="row">SNIPS</th><td>${interval(c.candidate.snips)}</td><td>${interval(c.championEstimates.snips)}</td><td>–</td></tr>
              <tr><th scope="row">Doubly robust</th><td>${interval(c.candidate.dr)}</td><td>${interval(c.championEstimates.dr)}</td><td>${interval(c.difference.dr)}</td></tr>
              <tr><th scope="row">Effective sample size</th><td>${num(c.candidate.effectiveSampleSize, 1)}</td><td>${num(c.championEstimates.effectiveSampleSize, 1)}</td><td>–</td></tr>
              <tr><th scope="row">Agreement with the log</th><td>${num(c.candidate.agreement * 100, 1)}%</td><td>${num(c.championEstimates.agreement * 100, 1)}%</td><td>–</td></tr>
            </tbody></table></div>
          <p class=${c.verdict === "candidate_better" ? "ok" : c.verdict === "champion_better" ? "bad" : ""}><strong>${VERDICT[c.verdict]}</strong></p>
          <p class="muted">Method: ${c.method}.</p>`
        : html`<p>No comparison with the champion (see the warnings).</p>`}
      ${result.warnings.length > 0 && html`<ul class="warnings">${result.warnings.map((w) => html`<li>${w}</li>`)}</ul>`}`}
  <//>`;
}

interface Calibration {
  modelVersion: string;
  outcome: string;
  decisions: number;
  n: number;
  ece: number;
  mce: number;
  brier: number;
  logLoss: number;
  auc: number | null;
  verdict: string;
  warning?: string;
  bins: { lo: number; hi: number; count: number; meanPredicted: number | null; observedRate: number | null }[];
}

/** The calibration curve of `model`: observed rate against mean prediction per bin, with the diagonal. */
export function CalibrationPanel({ model }: { model: ModelRow }) {
  const [outcome, setOutcome] = useState("click");
  const cal = useApi<Calibration>(`/admin/models/${model.id}/calibration?outcome=${outcome}`);
  const d = cal.data;
  const options = useMemo(() => {
    const bins = (d?.bins ?? []).filter((b) => b.meanPredicted !== null && b.observedRate !== null);
    return {
      width: 520,
      height: 360,
      x: { domain: [0, 1], label: "mean predicted probability" },
      y: { domain: [0, 1], label: "observed rate", grid: true },
      marks: [
        Plot.line([[0, 0], [1, 1]], { stroke: "#888", strokeDasharray: "4 4" }),
        Plot.line(bins, { x: "meanPredicted", y: "observedRate", stroke: "#1565c0" }),
        Plot.dot(bins, { x: "meanPredicted", y: "observedRate", r: (b: { count: number }) => Math.max(2, Math.sqrt(b.count)), fill: "#1565c0", title: (b: { count: number }) => `${b.count} decisions` }),
      ],
    };
  }, [d]);
  return html`<${Section} title=${`Calibration of ${model.version}`} id="calibration">
    <label for="cal-outcome">Outcome</label>
    <select id="cal-outcome" value=${outcome} onChange=${(e: Event) => setOutcome((e.currentTarget as HTMLSelectElement).value)}>
      <option value="click">click</option><option value="conversion">conversion</option>
    </select>
    <${Loading} when=${cal.loading} /><${ErrorBox} error=${cal.error} />
    ${d &&
    html`<p>${d.n} shown decisions under <code>${d.modelVersion}</code>: ECE ${num(d.ece)}, MCE ${num(d.mce)}, Brier ${num(d.brier)}, log-loss ${num(d.logLoss)}, AUC ${num(d.auc, 3)} — <strong>${d.verdict}</strong>.</p>
      ${d.warning && html`<p class="bad">${d.warning}</p>`}
      <${PlotChart} options=${options} label=${`Reliability curve of ${d.modelVersion}: observed ${d.outcome} rate against mean predicted probability per bin; the dashed diagonal is perfect calibration`} />
      <div class="table-wrap" tabindex="0"><table><caption>Reliability bins</caption>
        <thead><tr><th scope="col">Bin</th><th scope="col">Decisions</th><th scope="col">Mean predicted</th><th scope="col">Observed</th></tr></thead>
        <tbody>${d.bins.map((b) => html`<tr><th scope="row">${b.lo.toFixed(1)}–${b.hi.toFixed(1)}</th><td>${b.count}</td><td>${num(b.meanPredicted, 3)}</td><td>${num(b.observedRate, 3)}</td></tr>`)}</tbody></table></div>`}
  <//>`;
}
