/**
 * Operations: incidents with acknowledge / resolve (GET /admin/incidents?state=…, POST
 * /admin/incidents/:id `{ action, note? }`, recorded under the signed-in name), and read-only
 * tables of the moments in force (GET /admin/moments), the outbound channels
 * (GET /admin/channels), recent deliveries (GET /admin/deliveries) and channel engagement
 * (GET /admin/reports/channels).
 */
import { useState } from "preact/hooks";
import { api } from "../api.ts";
import { html } from "../html.ts";
import { num } from "../ui/audit.ts";
import { ErrorBox, Loading, pct, Section, useApi, when } from "../ui/common.ts";
import type { ConsolePage, PageProps } from "./index.ts";

interface Incident {
  id: number;
  kind: string;
  subject: string;
  severity: string;
  model: string | null;
  figures: Record<string, unknown>;
  state: "open" | "acknowledged" | "resolved";
  firstSeen: number;
  lastSeen: number;
  updatedBy: string;
  updatedAt: number;
}
interface Moment { id: string; description?: string; kpi: { event: string; windowSeconds: number }; actions: string[] }
interface Channel { channel: string; url: string; enabled: boolean; secretConfigured: boolean; maxAttempts: number; version: number; updatedBy: string; updatedAt: number }
interface Delivery { decisionId: string; channel: string; actionId: string; moment: string | null; sendAt: string; state: string; attempts: number; sentAt: string | null; feedback: Record<string, boolean> }
interface Interval { estimate: number | null; low: number | null; high: number | null }
interface ChannelRow { channel: string; sent: number; delivered: number; opened: number; clicked: number; bounced: number; unsubscribed: number; engagementRate: Interval }

const STATES = ["open", "acknowledged", "resolved"] as const;

function Incidents({ state, navigate }: { state: string; navigate: PageProps["navigate"] }) {
  const list = useApi<{ incidents: Incident[] }>(`/admin/incidents?${new URLSearchParams({ state, limit: "100" })}`);
  const [error, setError] = useState<Error | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const act = async (i: Incident, action: "acknowledge" | "resolve") => {
    setError(null);
    try {
      await api(`/admin/incidents/${i.id}`, { json: { action } });
      setDone(`Incident ${i.id} ${action === "resolve" ? "resolved" : "acknowledged"}.`);
      list.reload();
    } catch (err) {
      setError(err as Error);
    }
  };
  return html`<${Section} title="Incidents" id="ops-incidents">
    <label for="ops-state">State</label>
    <select id="ops-state" value=${state} onChange=${(e: Event) => navigate("operations", { state: (e.currentTarget as HTMLSelectElement).value })}>
      ${STATES.map((s) => html`<option value=${s}>${s}</option>`)}</select>
    <p aria-live="polite">${done ?? ""}</p><${ErrorBox} error=${error} />
    <${Loading} when=${list.loading && !list.data} /><${ErrorBox} error=${list.error} />
    ${list.data &&
    (list.data.incidents.length === 0
      ? html`<p class="muted">No ${state} incident.</p>`
      : html`<div class="table-wrap" tabindex="0"><table><caption>Incidents (${state}), newest first</caption>
        <thead><tr><th scope="col">Id</th><th scope="col">Kind</th><th scope="col">Subject</th><th scope="col">Severity</th><th scope="col">Last seen</th><th scope="col">Changed by</th><th scope="col">Action</th></tr></thead>
        <tbody>${list.data.incidents.map(
          (i) => html`<tr><th scope="row">${i.id}</th><td>${i.kind}</td><td>${i.subject}${i.model ? html` <code>${i.model}</code>` : ""}</td><td>${i.severity}</td>
            <td>${when(i.lastSeen)}</td><td>${i.updatedBy}</td>
            <td>${i.state === "open" && html`<button type="button" class="secondary" onClick=${() => act(i, "acknowledge")}>Acknowledge ${i.id}</button> `}
              ${i.state !== "resolved" && html`<button type="button" class="secondary" onClick=${() => act(i, "resolve")}>Resolve ${i.id}</button>`}</td></tr>`,
        )}</tbody></table></div>`)}
  <//>`;
}

function Moments() {
  const m = useApi<{ version: number; config: { moments: Moment[] } }>("/admin/moments");
  return html`<${Section} title="Moments" id="ops-moments"><${Loading} when=${m.loading} /><${ErrorBox} error=${m.error} />
    ${m.data &&
    (m.data.config.moments.length === 0
      ? html`<p class="muted">No moment configured (version ${m.data.version}).</p>`
      : html`<div class="table-wrap" tabindex="0"><table><caption>Moments in force (version ${m.data.version})</caption>
        <thead><tr><th scope="col">Moment</th><th scope="col">Description</th><th scope="col">KPI</th><th scope="col">Actions</th></tr></thead>
        <tbody>${m.data.config.moments.map((x) => html`<tr><th scope="row"><code>${x.id}</code></th><td>${x.description ?? "–"}</td><td>${x.kpi.event} within ${x.kpi.windowSeconds} s</td><td>${x.actions.join(", ") || "–"}</td></tr>`)}</tbody>
      </table></div>`)}<//>`;
}

function Channels() {
  const ch = useApi<{ channels: Channel[] }>("/admin/channels");
  const report = useApi<{ channels: ChannelRow[] }>("/admin/reports/channels");
  const sent = useApi<{ deliveries: Delivery[] }>("/admin/deliveries?limit=50");
  return html`<${Section} title="Channels and deliveries" id="ops-channels">
    <${Loading} when=${ch.loading || report.loading || sent.loading} /><${ErrorBox} error=${ch.error ?? report.error ?? sent.error} />
    ${ch.data &&
    (ch.data.channels.length === 0
      ? html`<p class="muted">No outbound channel configured.</p>`
      : html`<div class="table-wrap" tabindex="0"><table><caption>Outbound channels</caption>
        <thead><tr><th scope="col">Channel</th><th scope="col">Webhook</th><th scope="col">Enabled</th><th scope="col">Secret set</th><th scope="col">Attempts</th><th scope="col">Changed</th></tr></thead>
        <tbody>${ch.data.channels.map((c) => html`<tr><th scope="row">${c.channel}</th><td><code class="wrap">${c.url}</code></td><td>${c.enabled ? "yes" : "no"}</td><td>${c.secretConfigured ? "yes" : "no"}</td><td>${c.maxAttempts}</td><td>v${c.version} by ${c.updatedBy}, ${when(c.updatedAt)}</td></tr>`)}</tbody></table></div>`)}
    ${report.data && report.data.channels.length > 0 &&
    html`<div class="table-wrap" tabindex="0"><table><caption>Engagement per channel (rate with its Wilson interval)</caption>
      <thead><tr><th scope="col">Channel</th><th scope="col">Sent</th><th scope="col">Delivered</th><th scope="col">Opened</th><th scope="col">Clicked</th><th scope="col">Bounced</th><th scope="col">Unsubscribed</th><th scope="col">Engagement</th></tr></thead>
      <tbody>${report.data.channels.map((c) => html`<tr><th scope="row">${c.channel}</th><td>${c.sent}</td><td>${c.delivered}</td><td>${c.opened}</td><td>${c.clicked}</td><td>${c.bounced}</td><td>${c.unsubscribed}</td>
        <td>${pct(c.engagementRate.estimate)} (${pct(c.engagementRate.low)}–${pct(c.engagementRate.high)})</td></tr>`)}</tbody></table></div>`}
    ${sent.data &&
    (sent.data.deliveries.length === 0
      ? html`<p class="muted">No delivery yet.</p>`
      : html`<div class="table-wrap" tabindex="0"><table><caption>Latest deliveries</caption>
        <thead><tr><th scope="col">Send at</th><th scope="col">Channel</th><th scope="col">Action</th><th scope="col">Moment</th><th scope="col">State</th><th scope="col">Attempts</th><th scope="col">Feedback</th></tr></thead>
        <tbody>${sent.data.deliveries.map((d) => html`<tr><td>${d.sendAt}</td><td>${d.channel}</td><td>${d.actionId}</td><td>${d.moment ?? "–"}</td><td>${d.state}</td><td>${num(d.attempts)}</td>
          <td>${Object.entries(d.feedback).filter(([, v]) => v).map(([k]) => k).join(", ") || "–"}</td></tr>`)}</tbody></table></div>`)}
  <//>`;
}

function Operations({ params, navigate }: PageProps) {
  const state = STATES.includes(params.get("state") as (typeof STATES)[number]) ? params.get("state")! : "open";
  return html`<${Incidents} key=${state} state=${state} navigate=${navigate} /><${Moments} /><${Channels} />`;
}

export const operationsPage: ConsolePage = { id: "operations", title: "Operations", component: Operations };
