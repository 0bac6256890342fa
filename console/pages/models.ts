/**
 * Models: upload with the validation report, the deployment (champion, challenger and its share,
 * shadows, per outcome) with one-click activate and rollback, and per model an off-policy
 * evaluation against the champion and its calibration curve (./models-quality.ts).
 *
 * Routes: `POST /admin/models` + `GET /admin/models/uploads/:sha256` (console/ui/upload.ts),
 * `GET /admin/models` (`{ deployment, models }`), `POST /admin/models/:id/activate`,
 * `POST /admin/models/rollback?outcome=`, `POST /admin/models/:id/challenger` `{ percent }`,
 * `POST` / `DELETE /admin/models/:id/shadow`, `POST /admin/models/:id/evaluate`,
 * `GET /admin/models/:id/calibration`.
 */
import { useState } from "preact/hooks";
import { api } from "../api.ts";
import { html } from "../html.ts";
import { ErrorBox, Loading, Section, useApi, when } from "../ui/common.ts";
import { UploadBox } from "../ui/upload.ts";
import type { ConsolePage, PageProps } from "./index.ts";
import { CalibrationPanel, EvaluationPanel } from "./models-quality.ts";

interface Ref {
  id: string;
  version: string;
}
interface OutcomeDeployment {
  champion: Ref | null;
  challenger: (Ref & { percent: number }) | null;
  shadows: Ref[];
  previousChampions: Ref[];
}
/** `GET /admin/models/deployment` (worker/models/service.ts DeploymentView). */
export interface Deployment extends OutcomeDeployment {
  revision: number;
  champion: Ref;
  updatedBy: string | null;
  updatedAt: number | null;
  outcomes?: Record<string, OutcomeDeployment>;
}
/** One row of `GET /admin/models`. */
export interface ModelRow {
  id: string;
  version: string;
  name: string;
  status: "champion" | "challenger" | "shadow" | "available";
  percent?: number;
  sizeBytes: number;
  features: number;
  output: string;
  outcome: string;
  uploadedBy: string;
  uploadedAt: number;
}

/** A deployment change through the API; the page reloads the list afterwards. */
function useChange(reload: () => void) {
  const [error, setError] = useState<Error | null>(null);
  const [busy, setBusy] = useState(false);
  const change = async (path: string, init: { method?: string; json?: unknown } = {}) => {
    setBusy(true);
    setError(null);
    try {
      await api(path, { method: init.method ?? "POST", json: init.json });
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
      reload();
    }
  };
  return { error, busy, change };
}

function OutcomeCard({ outcome, d, busy, rollback }: { outcome: string; d: OutcomeDeployment; busy: boolean; rollback: (outcome: string) => void }) {
  return html`<div class="deploy-card">
    <h3>Outcome: ${outcome}</h3>
    <dl>
      <dt>Champion</dt><dd data-testid=${`champion-${outcome}`}><code>${d.champion?.version ?? "none"}</code></dd>
      <dt>Challenger</dt><dd>${d.challenger ? html`<code>${d.challenger.version}</code> for ${d.challenger.percent}% of visitors` : "none"}</dd>
      <dt>Shadows</dt><dd>${d.shadows.length ? d.shadows.map((s) => html`<code>${s.version}</code> `) : "none"}</dd>
      <dt>Rollback goes to</dt><dd>${d.previousChampions[0] ? html`<code>${d.previousChampions[0].version}</code>` : "nothing (no earlier champion)"}</dd>
    </dl>
    <button type="button" class="secondary" disabled=${busy || d.previousChampions.length === 0} onClick=${() => rollback(outcome)}>Roll back ${outcome} champion</button>
  </div>`;
}

function DeploymentView({ d, busy, rollback }: { d: Deployment; busy: boolean; rollback: (outcome: string) => void }) {
  return html`<p class="muted">Revision ${d.revision}${d.updatedBy ? `, changed by ${d.updatedBy} ${when(d.updatedAt)}` : ""}.</p>
    <div class="deploy-cards">
      <${OutcomeCard} outcome="click" d=${d} busy=${busy} rollback=${rollback} />
      ${Object.entries(d.outcomes ?? {}).map(([o, od]) => html`<${OutcomeCard} outcome=${o} d=${od} busy=${busy} rollback=${rollback} />`)}
    </div>`;
}

function ChallengerForm({ model, busy, change }: { model: ModelRow; busy: boolean; change: (path: string, init: { json: unknown }) => void }) {
  const [percent, setPercent] = useState(String(model.percent ?? 10));
  const id = `challenger-${model.id.slice(0, 12)}`;
  return html`<form class="inline" onSubmit=${(e: Event) => {
    e.preventDefault();
    change(`/admin/models/${model.id}/challenger`, { json: { percent: Number(percent) } });
  }}>
    <label for=${id}>Challenger %<span class="sr-only"> share of ${model.version}</span></label>
    <input id=${id} type="number" min="0" max="100" step="1" value=${percent} onInput=${(e: Event) => setPercent((e.currentTarget as HTMLInputElement).value)} />
    <button type="submit" class="secondary" disabled=${busy} aria-label=${`Set the challenger share of ${model.version}`}>Set</button>
  </form>`;
}

function ModelsTable({ models, busy, change, navigate, params }: { models: ModelRow[]; busy: boolean; change: (path: string, init?: { method?: string; json?: unknown }) => void } & Pick<PageProps, "navigate" | "params">) {
  const select = (id: string, view: string) => navigate("models", { model: id, view });
  return html`<div class="table-wrap"><table class="models">
    <caption>Registered models, newest first</caption>
    <thead><tr><th scope="col">Version</th><th scope="col">Status</th><th scope="col">Outcome</th><th scope="col">Features</th><th scope="col">Uploaded</th><th scope="col">Actions</th></tr></thead>
    <tbody>${models.map(
      (m) => html`<tr data-model=${m.id} aria-current=${params.get("model") === m.id ? "true" : undefined}>
        <th scope="row"><code>${m.version}</code></th>
        <td>${m.status}${m.status === "challenger" ? ` (${m.percent}%)` : ""}</td>
        <td>${m.outcome}</td>
        <td>${m.features} (${m.output})</td>
        <td>${m.uploadedBy}, ${when(m.uploadedAt)}</td>
        <td><div class="actions">
          ${m.status !== "champion" && html`<button type="button" disabled=${busy} onClick=${() => change(`/admin/models/${m.id}/activate`)} aria-label=${`Activate ${m.version}`}>Activate</button>`}
          ${m.status === "shadow"
            ? html`<button type="button" class="secondary" disabled=${busy} onClick=${() => change(`/admin/models/${m.id}/shadow`, { method: "DELETE" })} aria-label=${`Stop shadowing ${m.version}`}>Unshadow</button>`
            : m.status === "available" && html`<button type="button" class="secondary" disabled=${busy} onClick=${() => change(`/admin/models/${m.id}/shadow`)} aria-label=${`Shadow ${m.version}`}>Shadow</button>`}
          <button type="button" class="secondary" onClick=${() => select(m.id, "evaluate")} aria-label=${`Evaluate ${m.version} against the champion`}>Evaluate</button>
          ${m.output === "probability" && html`<button type="button" class="secondary" onClick=${() => select(m.id, "calibration")} aria-label=${`Calibration of ${m.version}`}>Calibration</button>`}
          ${m.status !== "champion" && html`<${ChallengerForm} model=${m} busy=${busy} change=${change} />`}
        </div></td>
      </tr>`,
    )}</tbody></table></div>`;
}

function Models({ params, navigate }: PageProps) {
  const list = useApi<{ deployment: Deployment; models: ModelRow[] }>("/admin/models?limit=100");
  const { error, busy, change } = useChange(list.reload);
  const data = list.data;
  const selected = data?.models.find((m) => m.id === params.get("model"));
  const view = params.get("view") ?? "evaluate";
  return html`<${Section} title="Upload a model"><${UploadBox} onDone=${list.reload} /><//>
    <${Loading} when=${list.loading && !data} /><${ErrorBox} error=${list.error} />
    ${data &&
    html`<${Section} title="Deployment">
        <${ErrorBox} error=${error} />
        <${DeploymentView} d=${data.deployment} busy=${busy} rollback=${(o: string) => change(`/admin/models/rollback?outcome=${encodeURIComponent(o)}`)} />
      <//>
      <${Section} title="Models">
        <${ModelsTable} models=${data.models} busy=${busy} change=${change} navigate=${navigate} params=${params} />
      <//>
      ${selected &&
      (view === "calibration"
        ? html`<${CalibrationPanel} key=${`c-${selected.id}`} model=${selected} />`
        : html`<${EvaluationPanel} key=${`e-${selected.id}`} model=${selected} champion=${data.deployment.champion} />`)}`}`;
}

export const modelsPage: ConsolePage = { id: "models", title: "Models", component: Models };
