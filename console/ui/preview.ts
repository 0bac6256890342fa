/**
 * What a visitor would get now: a form describing the request (slots from GET /admin/catalog/slots,
 * consent, page, country, device, drafts) sent to POST /admin/preview, which decides exactly as
 * POST /v1/decide and records nothing; each slot's answer is shown with every candidate's rule
 * outcomes, exclusion reason and arbitration, as the route explains them (docs/API.md).
 */
import { useState } from "preact/hooks";
import { api, ApiError } from "../api.ts";
import { html } from "../html.ts";
import { num } from "./audit.ts";
import { ErrorBox, Loading, Section, useApi } from "./common.ts";

/** The parts of the preview answer shown here (worker/preview/preview.ts PreviewAnswer). */
export interface PreviewAnswer {
  time: string;
  visitor: { visitorId: string; country: string | null; universalHoldout: boolean; campaignHoldouts: string[] };
  catalogVersion: number;
  guardrailsVersion: number;
  arm: string | null;
  modelVersion: string | null;
  slots: {
    slot: string;
    decision: { block: { id: string }; reason: string; holdout: boolean; propensity: number | null; modelVersion: string | null };
    holdoutScope: string | null;
    counterfactualBlockId: string | null;
    candidates: {
      blockId: string;
      campaign: string;
      status: string | null;
      eligible: boolean;
      chosen: boolean;
      rules: { rule: string; outcome: { pass: boolean; reason?: string; detail?: string } }[];
      excluded: { reason: string; detail?: string; description: string } | null;
      arbitration: { score: number | null; value: number; priority: number; rank: number | null };
    }[];
  }[];
}

/** The preview request the form describes (the route validates it). */
export interface PreviewForm {
  slots: string[];
  personalization: boolean;
  analytics: boolean;
  url: string;
  country: string;
  device: string;
  includeDrafts: boolean;
}

/** The `POST /admin/preview` body of a form, for `visitorId`. */
export function previewBody(visitorId: string, f: PreviewForm): Record<string, unknown> {
  return {
    visitorId,
    slots: f.slots,
    consent: { personalization: f.personalization, analytics: f.analytics },
    context: f.url.trim() ? { url: f.url.trim() } : {},
    ...(f.country.trim() ? { country: f.country.trim().toUpperCase() } : {}),
    ...(f.device ? { device: f.device } : {}),
    includeDrafts: f.includeDrafts,
  };
}

type Candidate = PreviewAnswer["slots"][number]["candidates"][number];

function outcome(c: Candidate): string {
  if (c.chosen) return "served";
  if (c.excluded) return `excluded: ${c.excluded.reason} — ${c.excluded.description}${c.excluded.detail ? ` (${c.excluded.detail})` : ""}`;
  return c.eligible ? "allowed, ranked lower" : "not in the pool";
}

function SlotAnswer({ s }: { s: PreviewAnswer["slots"][number] }) {
  const d = s.decision;
  return html`<${Section} title=${`Slot ${s.slot}: ${d.block.id}`} id=${`preview-${s.slot}`}>
    <p>Reason <strong>${d.reason}</strong>${d.holdout ? `, holdout (${s.holdoutScope ?? "universal"})` : ""}${s.counterfactualBlockId ? `; the model would have served ${s.counterfactualBlockId}` : ""};
      propensity ${num(d.propensity)}; model ${d.modelVersion ?? "none"}.</p>
    <div class="table-wrap" tabindex="0"><table><caption>Why ${d.block.id} in ${s.slot}: every candidate</caption>
      <thead><tr><th scope="col">Block</th><th scope="col">Campaign</th><th scope="col">Status</th><th scope="col">Outcome</th>
        <th scope="col">Rules</th><th scope="col">Score</th><th scope="col">Priority</th><th scope="col">Rank</th></tr></thead>
      <tbody>${s.candidates.map(
        (c) => html`<tr class=${c.chosen ? "chosen" : ""}><th scope="row"><code>${c.blockId}</code></th><td>${c.campaign}</td><td>${c.status ?? "–"}</td>
          <td>${outcome(c)}</td>
          <td>${c.rules.length ? html`<ul class="rules">${c.rules.map((r) => html`<li>${r.rule}: ${r.outcome.pass ? "pass" : `fail (${r.outcome.reason})`}</li>`)}</ul>` : "–"}</td>
          <td>${num(c.arbitration.score)}</td><td>${num(c.arbitration.priority)}</td><td>${c.arbitration.rank ?? "–"}</td></tr>`,
      )}</tbody></table></div>
  <//>`;
}

/** The preview form and its answer for one visitor id. */
export function VisitorPreview({ visitorId }: { visitorId: string }) {
  const catalog = useApi<{ slots: { id: string }[] }>("/admin/catalog/slots");
  const [form, setForm] = useState<PreviewForm>({ slots: [], personalization: true, analytics: true, url: "", country: "", device: "", includeDrafts: false });
  const [answer, setAnswer] = useState<PreviewAnswer | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [busy, setBusy] = useState(false);
  const slots = catalog.data?.slots.map((s) => s.id) ?? [];
  const chosen = form.slots.length ? form.slots : slots;
  const set = (patch: Partial<PreviewForm>) => setForm({ ...form, ...patch });
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      setAnswer(await api<PreviewAnswer>("/admin/preview", { json: previewBody(visitorId, { ...form, slots: chosen }) }));
    } catch (err) {
      setAnswer(null);
      setError(err instanceof ApiError || err instanceof Error ? err : new Error(String(err)));
    } finally {
      setBusy(false);
    }
  };
  const check = (name: string, on: boolean, toggle: () => void) =>
    html`<label class="audit-check"><input type="checkbox" checked=${on} onChange=${toggle} /> ${name}</label>`;
  return html`<${Section} title="What they would get now" id="visitor-preview">
    <p class="muted">Decided exactly as the live site would, with nothing recorded (no audit row, no cap used).</p>
    <${Loading} when=${catalog.loading} /><${ErrorBox} error=${catalog.error} />
    <form onSubmit=${submit} aria-label="Preview">
      <fieldset class="audit"><legend>Slots</legend>${slots.map((s) =>
        check(s, chosen.includes(s), () => set({ slots: chosen.includes(s) ? chosen.filter((x) => x !== s) : [...chosen, s] })),
      )}</fieldset>
      <fieldset class="audit"><legend>Consent</legend>
        ${check("Personalisation", form.personalization, () => set({ personalization: !form.personalization }))}
        ${check("Analytics", form.analytics, () => set({ analytics: !form.analytics }))}</fieldset>
      <div class="audit-fields">
        <div><label for="preview-url">Page URL</label><input id="preview-url" type="url" value=${form.url} placeholder="https://shop.example/shoes" onInput=${(e: Event) => set({ url: (e.currentTarget as HTMLInputElement).value })} /></div>
        <div><label for="preview-country">Country (ISO code)</label><input id="preview-country" value=${form.country} maxLength=${2} onInput=${(e: Event) => set({ country: (e.currentTarget as HTMLInputElement).value })} /></div>
        <div><label for="preview-device">Device</label><select id="preview-device" value=${form.device} onChange=${(e: Event) => set({ device: (e.currentTarget as HTMLSelectElement).value })}>
          <option value="">not given</option><option value="mobile">mobile</option><option value="tablet">tablet</option><option value="desktop">desktop</option></select></div>
      </div>
      ${check("Include draft blocks", form.includeDrafts, () => set({ includeDrafts: !form.includeDrafts }))}
      <p><button type="submit" disabled=${busy || chosen.length === 0}>Preview</button></p>
    </form>
    <${ErrorBox} error=${error} />
    ${answer &&
    html`<div class="preview-answer" aria-live="polite">
      <p>Arm ${answer.arm ?? "–"}, model ${answer.modelVersion ?? "none"}, catalog v${answer.catalogVersion}, guardrails v${answer.guardrailsVersion};
        universal control group: ${answer.visitor.universalHoldout ? "yes" : "no"}${answer.visitor.campaignHoldouts.length ? `; campaign holdouts: ${answer.visitor.campaignHoldouts.join(", ")}` : ""}.</p>
      ${answer.slots.map((s) => html`<${SlotAnswer} key=${s.slot} s=${s} />`)}</div>`}
  <//>`;
}
