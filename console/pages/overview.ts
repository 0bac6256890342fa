/** Overview: is nextbest healthy right now (GET /admin/health). */
import { html } from "../html.ts";
import { ErrorBox, Loading, Section, useApi, when } from "../ui/common.ts";
import type { ConsolePage } from "./index.ts";

interface Health {
  ok: boolean;
  incidents: { open: number; acknowledged: number; alerts: number; active: { id: number; kind: string; subject: string; severity: string; lastSeen: number }[] };
  killSwitch: { on: boolean; reason: string | null; changedBy: string | null };
  ratePerWeek: unknown;
}

function Overview() {
  const health = useApi<Health>("/admin/health");
  const h = health.data;
  return html`<${Loading} when=${health.loading && !h} /><${ErrorBox} error=${health.error} />
    ${h &&
    html`<${Section} title="Health">
      <p class=${h.ok ? "ok" : "bad"}>${h.ok ? "Personalising, no open alert." : "Attention needed."}
        ${h.killSwitch.on ? ` Kill switch ON (${h.killSwitch.reason ?? "no reason given"}, by ${h.killSwitch.changedBy}).` : ""}</p>
      <p>${h.incidents.open} open and ${h.incidents.acknowledged} acknowledged incidents (${h.incidents.alerts} alerts).</p>
      ${h.incidents.active.length > 0 &&
      html`<table><caption>Incidents not resolved</caption>
        <thead><tr><th scope="col">Kind</th><th scope="col">Subject</th><th scope="col">Severity</th><th scope="col">Last seen</th></tr></thead>
        <tbody>${h.incidents.active.map((i) => html`<tr><td>${i.kind}</td><td>${i.subject}</td><td>${i.severity}</td><td>${when(i.lastSeen)}</td></tr>`)}</tbody></table>`}
    <//>`}`;
}

export const overviewPage: ConsolePage = { id: "overview", title: "Overview", component: Overview };
