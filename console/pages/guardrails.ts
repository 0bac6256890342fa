/**
 * Guardrails: the configuration in force edited as a form (caps, exclusions, brand, compliance,
 * budgets) or as JSON, saved whole with the version it was read at, and its history with a diff
 * and who/when, with rollback. Routes:
 * - `GET /admin/guardrails` (the newest version), `PUT /admin/guardrails` with
 *   `If-Match: "<version>"` (412 when someone saved meanwhile; 422 `invalid_config` with every
 *   `path: message`, shown inline — nothing is saved then);
 * - `GET /admin/guardrails/history`, `GET /admin/guardrails/:version` (the diff against the one
 *   before), `POST /admin/guardrails/rollback { version }` (also with `If-Match`).
 * Nothing is validated here: the form only shapes the JSON; the API judges it.
 */
import { useEffect, useState } from "preact/hooks";
import { api } from "../api.ts";
import { html } from "../html.ts";
import { DiffView } from "../ui/diff.ts";
import { ErrorBox, Loading, Section, useApi, when } from "../ui/common.ts";
import type { ConsolePage } from "./index.ts";

type Json = Record<string, any>; // the API's document, edited by path
interface Version {
  version: number;
  config: Json;
  author: string;
  createdAt: number;
  action: string;
  restoredFrom?: number;
}
type Summary = Omit<Version, "config">;

/** A copy of `doc` with `value` at `path` (objects and arrays created on the way). */
export function setPath(doc: Json, path: (string | number)[], value: unknown): Json {
  const copy: Json = Array.isArray(doc) ? [...doc] : { ...doc };
  const [head, ...rest] = path;
  if (head === undefined) return doc;
  copy[head] = rest.length ? setPath(copy[head] ?? (typeof rest[0] === "number" ? [] : {}), rest, value) : value;
  return copy;
}
/** The value at `path`, or undefined. */
export const getPath = (doc: unknown, path: (string | number)[]): any => path.reduce<any>((v, k) => (v == null ? undefined : v[k]), doc);

/** A number input's value: a number when it reads as one, else the text (the API says what is wrong). */
const numberOf = (s: string): unknown => (s.trim() !== "" && Number.isFinite(Number(s)) ? Number(s) : s);
const listOf = (s: string) => s.split(",").map((x) => x.trim()).filter(Boolean);

const WINDOWS = ["session", "hour", "day", "week", "lifetime"];

/** The form: one field per common member, bound to the draft configuration by its path. */
function ConfigForm({ draft, setDraft }: { draft: Json; setDraft: (d: Json) => void }) {
  const at = (path: (string | number)[]) => getPath(draft, path);
  const set = (path: (string | number)[], value: unknown) => setDraft(setPath(draft, path, value));
  const id = (path: (string | number)[]) => `g-${path.join("-")}`;
  const num = (path: (string | number)[], label: string) =>
    html`<div><label for=${id(path)}>${label}</label><input id=${id(path)} type="number" step="any" value=${at(path) ?? ""} onInput=${(e: Event) => set(path, numberOf((e.target as HTMLInputElement).value))} /></div>`;
  const text = (path: (string | number)[], label: string) =>
    html`<div><label for=${id(path)}>${label}</label><input id=${id(path)} value=${at(path) ?? ""} onInput=${(e: Event) => set(path, (e.target as HTMLInputElement).value)} /></div>`;
  const check = (path: (string | number)[], label: string) =>
    html`<div class="check"><input id=${id(path)} type="checkbox" checked=${!!at(path)} onChange=${(e: Event) => set(path, (e.target as HTMLInputElement).checked)} /><label for=${id(path)}>${label}</label></div>`;
  const jsonField = (path: (string | number)[], label: string) => {
    const [textValue, setText] = useState(JSON.stringify(at(path) ?? null, null, 2));
    const [bad, setBad] = useState(false);
    return html`<div class="wide"><label for=${id(path)}>${label} (JSON)</label>
      <textarea id=${id(path)} class="short" aria-invalid=${bad ? "true" : undefined} value=${textValue}
        onInput=${(e: Event) => {
          const v = (e.target as HTMLTextAreaElement).value;
          setText(v);
          try {
            set(path, JSON.parse(v));
            setBad(false);
          } catch {
            setBad(true);
          }
        }}></textarea>${bad && html`<span class="bad">Not valid JSON yet: the last valid value is kept.</span>`}</div>`;
  };
  const caps: Json[] = at(["frequencyCaps", "global"]) ?? [];
  return html`<fieldset><legend>Frequency caps: every personalised block, per visitor</legend>
      ${caps.map(
        (cap, i) => html`<div class="cap-row" role="group" aria-label=${`Global cap ${i + 1}`}>
          ${num(["frequencyCaps", "global", i, "limit"], `Cap ${i + 1}: at most`)}
          <div><label for=${id(["frequencyCaps", "global", i, "window"])}>per</label>
            <select id=${id(["frequencyCaps", "global", i, "window"])} value=${cap.window} onChange=${(e: Event) => set(["frequencyCaps", "global", i, "window"], (e.target as HTMLSelectElement).value)}>
              ${WINDOWS.map((w) => html`<option value=${w}>${w}</option>`)}</select></div>
          <button type="button" class="secondary" onClick=${() => set(["frequencyCaps", "global"], caps.filter((_, j) => j !== i))}>Remove cap ${i + 1}</button>
        </div>`,
      )}
      <button type="button" class="secondary" onClick=${() => set(["frequencyCaps", "global"], [...caps, { limit: 3, window: "day" }])}>Add a global cap</button>
      ${jsonField(["frequencyCaps", "perCampaign"], "Caps per campaign")}
      ${jsonField(["frequencyCaps", "perBlock"], "Caps per block")}
    </fieldset>
    <fieldset><legend>Exclusions</legend>
      ${check(["exclusions", "excludeConvertedCampaigns"], "Stop showing a campaign to visitors who converted on it")}
      <div class="wide"><label for="g-suppressed">Suppress visitor ids (comma-separated; saved as pseudonymous keys)</label>
        <input id="g-suppressed" value=${(at(["exclusions", "global", "visitorIds"]) ?? []).join(", ")} onInput=${(e: Event) => set(["exclusions", "global", "visitorIds"], listOf((e.target as HTMLInputElement).value))} /></div>
      <p class="muted">${(at(["exclusions", "global", "visitorKeys"]) ?? []).length} visitor keys and ${(at(["exclusions", "global", "emailHashes"]) ?? []).length} e-mail hashes suppressed everywhere.</p>
      ${jsonField(["exclusions", "campaigns"], "Suppression per campaign")}
    </fieldset>
    <fieldset><legend>Brand</legend>
      ${num(["brand", "maxPromotionalPerPage"], "Promotional blocks per page, at most")}
      ${text(["brand", "promotionalTag"], "Tag of promotional blocks")}
      ${check(["brand", "oneBlockPerCampaign"], "One block per campaign on a page")}
      ${jsonField(["brand", "forbiddenOnPages"], "Blocks forbidden on pages")}
    </fieldset>
    <fieldset><legend>Compliance</legend>
      ${text(["compliance", "ageGatedTag"], "Tag of age-restricted blocks")}
      ${num(["compliance", "minimumAge"], "Minimum declared age")}
      ${jsonField(["compliance", "regions"], "Regional restrictions")}
    </fieldset>
    <fieldset><legend>Budgets and sessions</legend>
      ${num(["latencyBudgetMs"], "Ranking latency budget (ms)")}
      ${num(["coldStartBudgetMs"], "Model cold-start budget (ms)")}
      ${num(["sessionTimeoutMinutes"], "Session timeout (minutes)")}
    </fieldset>`;
}

/** The history: who changed what when, a diff per version, rollback. */
function History({ current, onChanged }: { current: number; onChanged: () => void }) {
  const history = useApi<{ versions: Summary[] }>("/admin/guardrails/history");
  const [open, setOpen] = useState<{ version: number; before: unknown; after: unknown } | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [note, setNote] = useState<string | null>(null);
  useEffect(() => history.reload(), [current]);
  const show = async (v: number) => {
    setError(null);
    try {
      const [after, before] = await Promise.all([api<Version>(`/admin/guardrails/${v}`), v > 0 ? api<Version>(`/admin/guardrails/${v - 1}`).catch(() => null) : null]);
      setOpen({ version: v, before: before?.config, after: after.config });
    } catch (err) {
      setError(err as Error);
    }
  };
  const rollback = async (v: number) => {
    setError(null);
    try {
      const saved = await api<Version & { warnings?: { path: string; message: string }[] }>("/admin/guardrails/rollback", { json: { version: v }, headers: { "if-match": `"${current}"` } });
      setNote(`Version ${v} restored as version ${saved.version}.${saved.warnings?.length ? ` Warnings: ${saved.warnings.map((w) => `${w.path}: ${w.message}`).join("; ")}` : ""}`);
      onChanged();
    } catch (err) {
      setError(err as Error);
    }
  };
  return html`<${ErrorBox} error=${history.error ?? error} />${note && html`<p class="ok">${note}</p>`}
    <div class="table-wrap" tabindex="0" role="region" aria-label="Guardrail history"><table>
      <caption>Saved versions, newest first</caption>
      <thead><tr><th scope="col">Version</th><th scope="col">How</th><th scope="col">By</th><th scope="col">When</th><th scope="col">Actions</th></tr></thead>
      <tbody>${(history.data?.versions ?? []).map(
        (v) => html`<tr><th scope="row">${v.version}</th><td>${v.action}${v.restoredFrom !== undefined ? ` of version ${v.restoredFrom}` : ""}</td><td>${v.author}</td><td>${when(v.createdAt)}</td>
          <td><button type="button" class="link" onClick=${() => show(v.version)}>Diff of version ${v.version}</button>
            ${v.version !== current && html`<button type="button" class="link" onClick=${() => rollback(v.version)}>Roll back to version ${v.version}</button>`}</td></tr>`,
      )}</tbody>
    </table></div>
    ${history.data?.versions.length === 0 && html`<p class="muted">No version saved yet: the built-in defaults (version 0) are in force.</p>`}
    ${open && html`<${DiffView} before=${open.before} after=${open.after} label=${`Changes in version ${open.version}`} />`}`;
}

function Guardrails() {
  const latest = useApi<Version>("/admin/guardrails");
  const [mode, setMode] = useState<"form" | "json">("form");
  const [draft, setDraft] = useState<Json | null>(null);
  const [text, setText] = useState("");
  const [error, setError] = useState<Error | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const [edition, setEdition] = useState(0);
  const v = latest.data;
  useEffect(() => {
    if (!v) return;
    setDraft(v.config);
    setText(JSON.stringify(v.config, null, 2));
  }, [v?.version]);
  const switchTo = (next: "form" | "json") => {
    if (next === "json" && draft) setText(JSON.stringify(draft, null, 2));
    if (next === "form") {
      try {
        setDraft(JSON.parse(text));
      } catch {
        setError(new Error("body: the JSON is not valid; fix it before switching to the form"));
        return;
      }
    }
    setError(null);
    setMode(next);
  };
  const save = async (event: Event) => {
    event.preventDefault();
    if (!v) return;
    setError(null);
    setSaved(null);
    try {
      const body = mode === "json" ? text : JSON.stringify(draft);
      const answer = await api<Version>("/admin/guardrails", { method: "PUT", body, headers: { "content-type": "application/json", "if-match": `"${v.version}"` } });
      setSaved(`Saved as version ${answer.version}.`);
      latest.reload();
    } catch (err) {
      setError(err as Error);
    }
  };
  if (!v || !draft) return html`<${Loading} when=${latest.loading} /><${ErrorBox} error=${latest.error} />`;
  return html`<${Section} title="Configuration">
      <p>Version <strong class="guardrails-version">${v.version}</strong>, saved by ${v.author} (${when(v.createdAt)}, ${v.action}).</p>
      <div class="tabs" role="group" aria-label="Edit as">
        <button type="button" class=${mode === "form" ? "" : "secondary"} aria-pressed=${mode === "form"} onClick=${() => switchTo("form")}>Form</button>
        <button type="button" class=${mode === "json" ? "" : "secondary"} aria-pressed=${mode === "json"} onClick=${() => switchTo("json")}>JSON</button>
      </div>
      <form class="guardrails-form" onSubmit=${save}>
        ${mode === "form"
          ? html`<${ConfigForm} draft=${draft} setDraft=${setDraft} key=${`${v.version}-${edition}`} />`
          : html`<label for="g-json">Configuration (JSON)</label><textarea id="g-json" class="tall" spellcheck="false" value=${text} onInput=${(e: Event) => setText((e.target as HTMLTextAreaElement).value)}></textarea>`}
        <p><button type="submit">Save as a new version</button>
          <button type="button" class="secondary" onClick=${() => (setDraft(v.config), setText(JSON.stringify(v.config, null, 2)), setError(null), setEdition((n) => n + 1))}>Undo my changes</button></p>
        <${ErrorBox} error=${error} />
        ${saved && html`<p class="ok">${saved}</p>`}
      </form>
    <//>
    <${Section} title="History"><${History} current=${v.version} onChanged=${latest.reload} /><//>`;
}

export const guardrailsPage: ConsolePage = { id: "guardrails", title: "Guardrails", component: Guardrails };
