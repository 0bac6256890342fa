/**
 * The Content page's block editor: create a block (`POST /admin/catalog/blocks`) or replace one
 * (`PUT /admin/catalog/blocks/:id`), with its schedule (`rules.startAt` / `rules.endAt`). What
 * the sanitiser removed (`removed` in the answer) and what the API refused (422 `path: message`)
 * are shown as the API reports them; nothing is validated or sanitised here.
 */
import { useState } from "preact/hooks";
import { api, ApiError } from "../api.ts";
import { html } from "../html.ts";
import { ErrorBox } from "../ui/common.ts";

export interface Block {
  id: string;
  slots: string[];
  category: string;
  tags?: string[];
  campaign: string;
  priority: number;
  value: number;
  html: string;
  rules?: Record<string, unknown> & { startAt?: string; endAt?: string };
  attributes?: Record<string, unknown>;
  status?: string;
  review?: { revision: number; editedBy: string; editedAt: number; approvedBy?: string; approvedAt?: number };
  pending?: { content: Block; editedBy: string; editedAt: number };
}

/** What the sanitiser took out of the HTML (worker/sanitize/). */
export interface Removal {
  kind: string;
  detail: string;
}

const list = (s: string) => s.split(",").map((x) => x.trim()).filter(Boolean);
/** `datetime-local` value (local time) → ISO 8601 with offset (UTC), or undefined when empty. */
export const isoOf = (local: string) => (local ? new Date(local).toISOString() : undefined);
/** ISO 8601 → the `datetime-local` value in the viewer's time zone. */
export function localOf(iso: string | undefined): string {
  if (!iso) return "";
  const d = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** The block body the API takes, from the form's fields (rules other than the schedule as JSON). */
export function blockBody(form: FormData): Record<string, unknown> {
  const text = (k: string) => String(form.get(k) ?? "");
  const rulesText = text("rules").trim();
  let rules: Record<string, unknown>;
  try {
    rules = rulesText ? (JSON.parse(rulesText) as Record<string, unknown>) : {};
  } catch {
    throw new ApiError(400, "invalid_json", "rules: not valid JSON");
  }
  delete rules.startAt;
  delete rules.endAt;
  const startAt = isoOf(text("startAt"));
  const endAt = isoOf(text("endAt"));
  const allRules = { ...rules, ...(startAt ? { startAt } : {}), ...(endAt ? { endAt } : {}) };
  return {
    id: text("id"),
    slots: list(text("slots")),
    category: text("category"),
    tags: list(text("tags")),
    campaign: text("campaign"),
    priority: Number(text("priority")),
    value: Number(text("value")),
    html: text("html"),
    ...(Object.keys(allRules).length ? { rules: allRules } : {}),
  };
}

/** The form; `block` given: edit it (its pending edit if it has one), else create one. */
export function BlockEditor({ block, onSaved }: { block?: Block; onSaved: (id: string) => void }) {
  const [error, setError] = useState<Error | null>(null);
  const [removed, setRemoved] = useState<Removal[] | null>(null);
  const [busy, setBusy] = useState(false);
  const b = block?.pending?.content ?? block;
  const { startAt, endAt, ...otherRules } = b?.rules ?? {};
  const save = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    setRemoved(null);
    try {
      const form = event.currentTarget as HTMLFormElement;
      const body = blockBody(new FormData(form));
      const answer = block
        ? await api<{ removed?: Removal[]; block?: Block }>(`/admin/catalog/blocks/${encodeURIComponent(block.id)}`, { method: "PUT", json: body })
        : await api<{ removed?: Removal[]; block?: Block }>("/admin/catalog/blocks", { json: body });
      setRemoved(answer?.removed ?? []);
      // Show what was saved (the sanitised HTML); a new block opens in its own editor.
      const saved = answer?.block?.pending?.content ?? answer?.block;
      if (!block) form.reset();
      else if (saved) (form.elements.namedItem("html") as HTMLTextAreaElement).value = saved.html;
      onSaved(String(body.id));
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  };
  const f = (name: string) => `block-${block ? "edit" : "new"}-${name}`;
  return html`<form class="block-editor" onSubmit=${save} key=${block?.id ?? "new"}>
    ${block
      ? html`<input type="hidden" name="id" value=${block.id} />`
      : html`<label for=${f("id")}>Id</label><input id=${f("id")} name="id" required maxlength="64" />`}
    <div class="fields">
      <div><label for=${f("slots")}>Slots (comma-separated)</label><input id=${f("slots")} name="slots" required defaultValue=${b?.slots.join(", ") ?? ""} /></div>
      <div><label for=${f("campaign")}>Campaign</label><input id=${f("campaign")} name="campaign" required defaultValue=${b?.campaign ?? ""} /></div>
      <div><label for=${f("category")}>Category</label><input id=${f("category")} name="category" required defaultValue=${b?.category ?? ""} /></div>
      <div><label for=${f("tags")}>Tags (comma-separated)</label><input id=${f("tags")} name="tags" defaultValue=${b?.tags?.join(", ") ?? ""} /></div>
      <div><label for=${f("priority")}>Priority (0–100)</label><input id=${f("priority")} name="priority" type="number" step="any" required defaultValue=${b?.priority ?? 50} /></div>
      <div><label for=${f("value")}>Value of a conversion</label><input id=${f("value")} name="value" type="number" step="any" required defaultValue=${b?.value ?? 1} /></div>
      <div><label for=${f("startAt")}>Schedule: starts</label><input id=${f("startAt")} name="startAt" type="datetime-local" defaultValue=${localOf(startAt)} /></div>
      <div><label for=${f("endAt")}>Schedule: ends</label><input id=${f("endAt")} name="endAt" type="datetime-local" defaultValue=${localOf(endAt)} /></div>
    </div>
    <label for=${f("html")}>HTML</label>
    <textarea id=${f("html")} name="html" required spellcheck="false">${b?.html ?? ""}</textarea>
    <label for=${f("rules")}>Other rules (JSON: consentPurposes, countries, devices, urlPatterns, pageTags, condition, caps)</label>
    <textarea id=${f("rules")} name="rules" class="short" spellcheck="false">${Object.keys(otherRules).length ? JSON.stringify(otherRules, null, 2) : ""}</textarea>
    <p><button type="submit" disabled=${busy}>${block ? "Save changes" : "Create draft"}</button></p>
    <${ErrorBox} error=${error} />
    ${removed &&
    html`<div class="sanitiser" role="status" aria-live="polite">
      ${removed.length === 0
        ? html`<p>Saved. The sanitiser removed nothing.</p>`
        : html`<p>Saved. The sanitiser removed ${removed.length} thing${removed.length === 1 ? "" : "s"} from the HTML:</p>
            <ul>${removed.map((r) => html`<li><strong>${r.kind}</strong> <code>${r.detail}</code></li>`)}</ul>`}
    </div>`}
  </form>`;
}
