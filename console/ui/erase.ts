/**
 * Erasing a visitor (DELETE /admin/visitors/:id) or a customer (DELETE /admin/customers/:id)
 * behind a confirmation that makes the operator type the id, then the counts the API answers:
 * rows or records removed per store, what was not removed and why, the lake's queued rewrite.
 */
import { useState } from "preact/hooks";
import { api } from "../api.ts";
import { html } from "../html.ts";
import { ErrorBox, Section } from "./common.ts";

/** What the erasure routes answer (both shapes; `customer` when a visitor was linked to one). */
export interface Erasure {
  visitorKey?: string;
  customerKey?: string;
  visitors?: string[];
  complete: boolean;
  removed: Record<string, number>;
  notRemoved: { store: string; reason: string }[];
  lake?: { status: string; visitors: number };
  customer?: Erasure;
}

export type IdKind = "visitor" | "customer";

/** The route that erases `id`. */
export const erasurePath = (kind: IdKind, id: string) => `/admin/${kind === "customer" ? "customers" : "visitors"}/${encodeURIComponent(id)}`;

function Counts({ e, caption }: { e: Erasure; caption: string }) {
  return html`<p class=${e.complete ? "ok" : "bad"}>${e.complete ? "Complete." : "Not complete: send the erasure again to finish."}
      ${e.visitors && ` ${e.visitors.length} linked visitor${e.visitors.length === 1 ? "" : "s"}.`}
      ${e.lake && ` Lake: ${e.lake.status === "queued" ? "rewrite queued (next daily pass)" : "nothing to erase"}.`}</p>
    <div class="table-wrap" tabindex="0"><table class="erasure-counts"><caption>${caption}</caption>
      <thead><tr><th scope="col">Store</th><th scope="col">Removed</th></tr></thead>
      <tbody>${Object.entries(e.removed).map(([store, n]) => html`<tr><th scope="row">${store}</th><td>${n}</td></tr>`)}</tbody></table></div>
    ${e.notRemoved.length > 0 && html`<ul>${e.notRemoved.map((n) => html`<li><strong>${n.store}</strong>: ${n.reason}</li>`)}</ul>`}`;
}

/** The erase button, its typed confirmation and the answer. `onErased` lets the page reload. */
export function EraseVisitor({ kind, id, onErased }: { kind: IdKind; id: string; onErased?: () => void }) {
  const [confirming, setConfirming] = useState(false);
  const [typed, setTyped] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error | null>(null);
  const [result, setResult] = useState<Erasure | null>(null);
  const erase = async (e: Event) => {
    e.preventDefault();
    if (typed !== id) return;
    setBusy(true);
    setError(null);
    try {
      setResult(await api<Erasure>(erasurePath(kind, id), { method: "DELETE" }));
      setConfirming(false);
      setTyped("");
      onErased?.();
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  };
  return html`<${Section} title=${`Erase this ${kind}`} id="visitor-erase">
    <p>Removes the ${kind}'s events, audit rows and state from every store${kind === "customer" ? ", with every linked visitor, the profile and outbound actions" : " (and the customer linked to them, if any)"}. This cannot be undone.</p>
    ${!confirming &&
    html`<p><button type="button" class="danger" onClick=${() => (setConfirming(true), setResult(null))}>Erase ${kind}…</button></p>`}
    ${confirming &&
    html`<form class="audit-confirm" onSubmit=${erase} aria-label="Confirm erasure">
      <label for="erase-confirm">Type the ${kind} id <code>${id}</code> to confirm</label>
      <input id="erase-confirm" autocomplete="off" spellcheck=${false} value=${typed} onInput=${(e: Event) => setTyped((e.currentTarget as HTMLInputElement).value)} />
      <p><button type="submit" class="danger" disabled=${busy || typed !== id}>Erase permanently</button>
        <button type="button" class="secondary" onClick=${() => (setConfirming(false), setTyped(""))}>Cancel</button></p>
    </form>`}
    <${ErrorBox} error=${error} />
    ${result &&
    html`<div class="erasure-result" aria-live="polite">
      <h3>Erased ${id}</h3>
      <${Counts} e=${result} caption=${`Removed for ${kind} ${id}`} />
      ${result.customer && html`<h3>The linked customer</h3><${Counts} e=${result.customer} caption="Removed for the linked customer" />`}
    </div>`}
  <//>`;
}
