/**
 * "Why this block": one audit record (GET /admin/decisions/:id) laid out for a person — what was
 * served and why, each candidate with its model score (and shadow models' scores), the blocks the
 * rules excluded with their reason codes, arbitration factors, propensity, model, holdout,
 * moments and the fallback cause. Only what the record holds; nothing is recomputed here.
 */
// The reason codes' descriptions are the engine's own table (a constant, no logic), not a copy.
import { REASONS as EXCLUSIONS } from "../../worker/guardrails/reasons.ts";
import { html } from "../html.ts";
import { type AuditRecord, num } from "./audit.ts";
import { Section, when } from "./common.ts";

const REASONS: Record<AuditRecord["reason"], string> = {
  ranked: "ranked: the model (or arbitration) put this block first among the allowed candidates",
  holdout: "holdout: the visitor is in a control group and got the slot's default block",
  fallback: "fallback: ranking was not possible, so the slot's default block was served",
  default: "default: the slot's default block (no consent, the kill switch, or no allowed candidate)",
};

const yesNo = (b: boolean | undefined) => (b ? "yes" : "no");
const pairs = (r: Record<string, number>) => Object.entries(r).map(([k, v]) => `${k} ${num(v)}`).join(", ") || "–";

function Facts({ r }: { r: AuditRecord }) {
  const rows: [string, unknown][] = [
    ["Served block", html`<code>${r.chosenBlockId}</code>${r.campaign ? ` (campaign ${r.campaign})` : ""}`],
    ["Reason", REASONS[r.reason] ?? r.reason],
    ["Fallback cause", r.fallbackCause ?? "–"],
    ["Model version", r.modelVersion ? html`<code>${r.modelVersion}</code>` : "none (no model ranked)"],
    ["Arm", r.arm],
    ["Propensity", r.propensity === null ? "unknown" : num(r.propensity)],
    ["Explored", yesNo(r.explored)],
    ["Holdout group", r.holdout ? `yes (${r.holdoutScope ?? "universal"})` : "no (treatment)"],
    ["Would have served (holdout)", r.counterfactualBlockId ? html`<code>${r.counterfactualBlockId}</code>${r.counterfactualCampaign ? ` (campaign ${r.counterfactualCampaign})` : ""}` : "–"],
    ["Slot", r.slot],
    ["Time", when(r.time)],
    ["Page", r.page ?? "–"],
    ["Consent", `personalisation ${yesNo(r.consent.personalization)}, analytics ${yesNo(r.consent.analytics)}`],
    ["View of this block", r.exposureOrdinal ? `#${r.exposureOrdinal}` : "–"],
    ["Visitor key", html`<code class="wrap">${r.visitorKey}</code>`],
    ["Decision id", html`<code class="wrap">${r.decisionId}</code>`],
    ["Latency", `${num(r.latencyMs, 2)} ms`],
    ["Hash version", r.hashVersion],
  ];
  return html`<dl class="why-facts">${rows.map(([k, v]) => html`<dt>${k}</dt><dd>${v}</dd>`)}</dl>`;
}

function Candidates({ r }: { r: AuditRecord }) {
  if (r.candidates.length === 0) return html`<p class="muted">No candidate was ranked.</p>`;
  return html`<div class="table-wrap" tabindex="0"><table><caption>Candidates the served block was drawn from, with scores</caption>
    <thead><tr><th scope="col">Block</th><th scope="col">Model score</th>${r.arbitration && html`<th scope="col">Priority</th>`}
      ${r.shadows.map((s) => html`<th scope="col">Shadow <code>${s.modelVersion}</code></th>`)}<th scope="col">Served</th></tr></thead>
    <tbody>${r.candidates.map(
      (c, i) => html`<tr class=${c === r.chosenBlockId ? "chosen" : ""}><th scope="row"><code>${c}</code></th><td>${num(r.scores[i])}</td>
        ${r.arbitration && html`<td>${num(r.arbitration.factors[i]?.priority)}</td>`}
        ${r.shadows.map((s) => html`<td>${num(s.scores[i])}</td>`)}<td>${c === r.chosenBlockId ? "served" : ""}</td></tr>`,
    )}</tbody></table></div>`;
}

function Excluded({ r }: { r: AuditRecord }) {
  if (r.excluded.length === 0) return html`<p>No block was excluded by the rules (consent, caps, exclusions, eligibility, brand, compliance).</p>`;
  return html`<div class="table-wrap" tabindex="0"><table><caption>Blocks the rules excluded, with their reason codes</caption>
    <thead><tr><th scope="col">Block</th><th scope="col">Reason code</th><th scope="col">Meaning</th></tr></thead>
    <tbody>${r.excluded.map(
      (e) => html`<tr><th scope="row"><code>${e.blockId}</code></th><td><code class="reason">${e.reason}</code></td>
        <td>${(EXCLUSIONS as Record<string, string>)[e.reason] ?? "–"}</td></tr>`,
    )}</tbody></table></div>`;
}

function Arbitration({ a, candidates }: { a: NonNullable<AuditRecord["arbitration"]>; candidates: string[] }) {
  return html`<p>Formula: <code>${a.formula}</code></p>
    ${a.outcomes.length > 0 && html`<p>Other outcomes' models: ${a.outcomes.map((o, i) => html`${i ? ", " : ""}${o.outcome} <code>${o.modelVersion}</code>`)}</p>`}
    <div class="table-wrap" tabindex="0"><table><caption>Arbitration factors per candidate</caption>
      <thead><tr><th scope="col">Block</th><th scope="col">Propensities</th><th scope="col">Weights</th><th scope="col">Value</th>
        <th scope="col">Context weight</th><th scope="col">Lever</th><th scope="col">Priority</th></tr></thead>
      <tbody>${a.factors.map(
        (f, i) => html`<tr><th scope="row"><code>${candidates[i] ?? i}</code></th><td>${pairs(f.propensities)}</td><td>${pairs(f.weights)}</td>
          <td>${num(f.value)}</td><td>${num(f.contextWeight)}</td><td>${num(f.lever)}</td><td>${num(f.priority)}</td></tr>`,
      )}</tbody></table></div>`;
}

function Features({ r }: { r: AuditRecord }) {
  if (r.featureNames.length === 0) return null;
  return html`<details><summary>Feature values the model saw (${r.featureNames.length} features)</summary>
    <div class="table-wrap" tabindex="0"><table><caption>Features per candidate</caption>
      <thead><tr><th scope="col">Feature</th>${r.candidates.map((c) => html`<th scope="col"><code>${c}</code></th>`)}</tr></thead>
      <tbody>${r.featureNames.map((f, j) => html`<tr><th scope="row"><code>${f}</code></th>${r.candidates.map((_, i) => html`<td>${num(r.features[i]?.[j])}</td>`)}</tr>`)}</tbody>
    </table></div></details>`;
}

function NextAction({ n }: { n: NonNullable<AuditRecord["nextAction"]> }) {
  const rows: [string, unknown][] = [
    ["Channel", n.channel ?? "none"], ["Content", n.contentRef ?? "–"], ["Moment", n.moment ?? "–"], ["Send at", n.sendAt ?? "–"],
    ["Time zone", n.timeZone], ["Send-time method", n.sendTimeMethod ?? "–"], ["Hour propensity", num(n.hourPropensity)],
    ["Action propensity", num(n.actionPropensity)], ["Channel propensities", pairs(n.channelPropensities)], ["Scheduled", yesNo(n.scheduled)],
  ];
  return html`<dl class="why-facts">${rows.map(([k, v]) => html`<dt>${k}</dt><dd>${v}</dd>`)}</dl>`;
}

/** The whole explanation of one decision. */
export function WhyThisBlock({ record: r }: { record: AuditRecord }) {
  return html`<div class="why">
    <${Section} title=${`Why ${r.chosenBlockId}`} id="why-summary"><${Facts} r=${r} /><//>
    <${Section} title="Candidates and scores" id="why-candidates"><${Candidates} r=${r} /><${Features} r=${r} /><//>
    <${Section} title="Rule outcomes" id="why-rules"><${Excluded} r=${r} /><//>
    ${r.arbitration && html`<${Section} title="Arbitration" id="why-arbitration"><${Arbitration} a=${r.arbitration} candidates=${r.candidates} /><//>`}
    ${r.shadows.length > 0 &&
    html`<${Section} title="Shadow models" id="why-shadows"><ul>${r.shadows.map((s) => html`<li><code>${s.modelVersion}</code> would have served <code>${s.chosenBlockId ?? "nothing"}</code></li>`)}</ul><//>`}
    ${r.moments && r.moments.length > 0 &&
    html`<${Section} title="Moments" id="why-moments"><ul>${r.moments.map((m, i) => {
      const kpi = r.momentKpis?.[i];
      return html`<li><code>${m}</code>${kpi ? ` — KPI ${kpi.event} within ${kpi.windowSeconds} s` : ""}</li>`;
    })}</ul><//>`}
    ${r.nextAction && html`<${Section} title="Next action" id="why-next-action"><${NextAction} n=${r.nextAction} /><//>`}
  </div>`;
}
