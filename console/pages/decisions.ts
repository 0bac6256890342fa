/**
 * Decisions: search the audit log by visitor, block, model, slot and time (GET /admin/decisions,
 * newest first, `cursor` pages), and open one decision as "why this block"
 * (GET /admin/decisions/:id). The search lives in the address (`#/decisions?visitor=v1&block=…`,
 * one decision at `#/decisions?id=<decisionId>`), so a search or a decision can be linked.
 */
import { useEffect, useState } from "preact/hooks";
import { html } from "../html.ts";
import { type AuditRecord, type DecisionPage, DecisionsTable, listPath, type Search, searchOf, searchParams } from "../ui/audit.ts";
import { ErrorBox, Loading, Section, useApi } from "../ui/common.ts";
import { WhyThisBlock } from "../ui/why.ts";
import type { ConsolePage, PageProps } from "./index.ts";

const LABELS: [keyof Search, string, string, string][] = [
  ["visitor", "Visitor id", "text", "the site's visitor id (hashed by the API)"],
  ["block", "Served block id", "text", ""],
  ["model", "Model (version or name)", "text", ""],
  ["slot", "Slot", "text", ""],
  ["from", "From", "datetime-local", ""],
  ["to", "Until (before)", "datetime-local", ""],
];

/** The search form; what is typed goes into the address on "Search". */
function SearchForm({ params, navigate }: Pick<PageProps, "params" | "navigate">) {
  const key = params.toString();
  const [form, setForm] = useState<Search>(() => searchOf(params));
  useEffect(() => setForm(searchOf(params)), [key]);
  const submit = (e: Event) => {
    e.preventDefault();
    navigate("decisions", searchParams(form));
  };
  return html`<form class="audit-search" role="search" aria-label="Search the audit log" onSubmit=${submit}>
    <div class="audit-fields">${LABELS.map(
      ([f, label, type, hint]) => html`<div><label for=${`search-${f}`}>${label}</label>
        <input id=${`search-${f}`} name=${f} type=${type} value=${form[f]} placeholder=${hint}
          onInput=${(e: Event) => setForm({ ...form, [f]: (e.currentTarget as HTMLInputElement).value })} /></div>`,
    )}</div>
    <p><button type="submit">Search</button> <button type="button" class="secondary" onClick=${() => navigate("decisions")}>Clear</button></p>
  </form>`;
}

/** The matching decisions, page by page (the cursor is kept in the address too). */
function Results({ params, navigate }: Pick<PageProps, "params" | "navigate">) {
  const search = searchOf(params);
  const cursor = params.get("cursor");
  const list = useApi<DecisionPage>(listPath(search, { cursor }));
  const filters = Object.entries(searchParams(search)).map(([k, v]) => `${k} ${v}`).join(", ");
  return html`<${Section} title="Results" id="audit-results">
    <${Loading} when=${list.loading} /><${ErrorBox} error=${list.error} />
    ${list.data &&
    html`<${DecisionsTable} decisions=${list.data.decisions} caption=${`Decisions, newest first${filters ? ` (${filters})` : ""}${cursor ? ", later page" : ""}`} />
      <p>${cursor && html`<button type="button" class="secondary" onClick=${() => navigate("decisions", searchParams(search))}>First page</button> `}
        ${list.data.nextCursor &&
        html`<button type="button" class="secondary" onClick=${() => navigate("decisions", searchParams(search, { cursor: list.data!.nextCursor! }))}>Older decisions</button>`}</p>`}
  <//>`;
}

/** One decision, explained. */
function Decision({ id }: { id: string }) {
  const one = useApi<AuditRecord>(`/admin/decisions/${encodeURIComponent(id)}`);
  return html`<p><a href="#/decisions">← Search the audit log</a></p>
    <${Loading} when=${one.loading} /><${ErrorBox} error=${one.error} />
    ${one.data && html`<${WhyThisBlock} record=${one.data} />`}`;
}

function Decisions({ params, navigate }: PageProps) {
  const id = params.get("id");
  if (id) return html`<${Decision} key=${id} id=${id} />`;
  return html`<${SearchForm} params=${params} navigate=${navigate} /><${Results} params=${params} navigate=${navigate} />`;
}

export const decisionsPage: ConsolePage = { id: "decisions", title: "Decisions", component: Decisions };
