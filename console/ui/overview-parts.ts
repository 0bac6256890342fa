/**
 * Parts of the overview that change state: the kill switch (POST /admin/kill-switch, with a
 * confirm step and a reason) and the incidents not resolved (POST /admin/incidents/:id,
 * acknowledge or resolve). Each calls the route and then `onChanged` so the page reloads
 * GET /admin/health; errors are shown inline as the API gave them.
 */
import { useState } from "preact/hooks";
import { api } from "../api.ts";
import { html } from "../html.ts";
import { ErrorBox, when } from "./common.ts";

export interface KillSwitchState {
  on: boolean;
  reason: string | null;
  changedBy: string | null;
  changedAt?: number | null;
  propagationMs: number;
}

export interface ActiveIncident {
  id: number;
  kind: string;
  subject: string;
  severity: string;
  state: string;
  lastSeen: number;
}

/** The switch's state, and a two-step change: ask (with a reason), then confirm. */
export function KillSwitch({ state, onChanged }: { state: KillSwitchState; onChanged: () => void }) {
  const [asking, setAsking] = useState(false);
  const [reason, setReason] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error | null>(null);
  const next = !state.on;
  const confirm = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api("/admin/kill-switch", { json: { on: next, ...(reason.trim() ? { reason: reason.trim() } : {}) } });
      setAsking(false);
      setReason("");
      onChanged();
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  };
  return html`<div class="killswitch">
    <p class=${state.on ? "bad" : "ok"} data-testid="kill-switch-state">
      <strong>Kill switch ${state.on ? "ON" : "off"}</strong>:
      ${state.on ? " every slot serves its default block, no personalisation." : " personalisation is serving."}
      ${state.changedBy ? html` <span class="muted">Last changed by ${state.changedBy}${state.changedAt ? ` at ${when(state.changedAt)}` : ""}${state.reason ? ` (${state.reason})` : ""}.</span>` : null}
    </p>
    ${!asking &&
    html`<button type="button" class=${next ? "danger" : ""} onClick=${() => setAsking(true)}>${next ? "Turn kill switch on…" : "Turn kill switch off…"}</button>`}
    ${asking &&
    html`<form class="confirm" onSubmit=${confirm}>
      <p>${next ? "Every visitor will get each slot's default block until you turn it off again; no outbound message is decided, and scheduled ones that come due while it is on are cancelled, not sent later. " : "Personalisation and outbound decisions will resume (messages cancelled while it was on stay cancelled). "}
        Every server follows within ${Math.round(state.propagationMs / 1000)} s.</p>
      <label for="kill-switch-reason">Reason <span class="muted">(recorded with your name)</span></label>
      <input id="kill-switch-reason" maxlength="500" value=${reason} onInput=${(e: Event) => setReason((e.target as HTMLInputElement).value)} />
      <div class="buttons">
        <button type="submit" class=${next ? "danger" : ""} disabled=${busy}>${next ? "Confirm: turn kill switch on" : "Confirm: turn kill switch off"}</button>
        <button type="button" class="secondary" onClick=${() => setAsking(false)}>Cancel</button>
      </div>
    </form>`}
    <${ErrorBox} error=${error} />
  </div>`;
}

/** Open and acknowledged incidents with their actions. */
export function Incidents({ active, onChanged }: { active: ActiveIncident[]; onChanged: () => void }) {
  const [error, setError] = useState<Error | null>(null);
  const [busy, setBusy] = useState<number | null>(null);
  const act = async (id: number, action: "acknowledge" | "resolve") => {
    setBusy(id);
    setError(null);
    try {
      await api(`/admin/incidents/${id}`, { json: { action } });
      onChanged();
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(null);
    }
  };
  if (active.length === 0) return html`<p>No incident open.</p>`;
  return html`<div class="table-wrap"><table>
      <caption>Incidents not resolved</caption>
      <thead><tr><th scope="col">Kind</th><th scope="col">Subject</th><th scope="col">Severity</th><th scope="col">State</th><th scope="col">Last seen</th><th scope="col">Actions</th></tr></thead>
      <tbody>${active.map(
        (i) => html`<tr>
          <td>${i.kind}</td><td>${i.subject}</td><td>${i.severity}</td><td>${i.state}</td><td>${when(i.lastSeen)}</td>
          <td class="actions">
            ${i.state === "open" && html`<button type="button" disabled=${busy === i.id} aria-label=${`Acknowledge ${i.kind} ${i.subject}`} onClick=${() => act(i.id, "acknowledge")}>Acknowledge</button>`}
            <button type="button" disabled=${busy === i.id} aria-label=${`Resolve ${i.kind} ${i.subject}`} onClick=${() => act(i.id, "resolve")}>Resolve</button>
          </td>
        </tr>`,
      )}</tbody>
    </table></div>
    <${ErrorBox} error=${error} />`;
}
