/**
 * Visitors: look a visitor up (their recent decisions, GET /admin/decisions?visitor=…), preview
 * what they would get now (POST /admin/preview, records nothing) and erase them
 * (DELETE /admin/visitors/:id, or DELETE /admin/customers/:id for a customer id) behind a typed
 * confirmation. The id is in the address (`#/visitors?visitor=v1` or `?customer=c1`).
 */
import { useEffect, useState } from "preact/hooks";
import { html } from "../html.ts";
import { type DecisionPage, DecisionsTable, listPath } from "../ui/audit.ts";
import { ErrorBox, Loading, Section, useApi } from "../ui/common.ts";
import { EraseVisitor, type IdKind } from "../ui/erase.ts";
import { VisitorPreview } from "../ui/preview.ts";
import type { ConsolePage, PageProps } from "./index.ts";

/** The id and its kind an address names. */
export function lookupOf(params: URLSearchParams): { kind: IdKind; id: string } | null {
  const customer = params.get("customer")?.trim();
  if (customer) return { kind: "customer", id: customer };
  const visitor = params.get("visitor")?.trim();
  return visitor ? { kind: "visitor", id: visitor } : null;
}

function LookupForm({ params, navigate }: Pick<PageProps, "params" | "navigate">) {
  const current = lookupOf(params);
  const [id, setId] = useState(current?.id ?? "");
  const [kind, setKind] = useState<IdKind>(current?.kind ?? "visitor");
  useEffect(() => {
    setId(current?.id ?? "");
    setKind(current?.kind ?? "visitor");
  }, [params.toString()]);
  const submit = (e: Event) => {
    e.preventDefault();
    if (id.trim()) navigate("visitors", { [kind]: id.trim() });
  };
  const radio = (value: IdKind, label: string) =>
    html`<label class="audit-check"><input type="radio" name="lookup-kind" value=${value} checked=${kind === value} onChange=${() => setKind(value)} /> ${label}</label>`;
  return html`<form role="search" aria-label="Look up a visitor" onSubmit=${submit}>
    <label for="lookup-id">Visitor or customer id</label>
    <input id="lookup-id" value=${id} autocomplete="off" onInput=${(e: Event) => setId((e.currentTarget as HTMLInputElement).value)} />
    <fieldset class="audit"><legend>The id is a</legend>${radio("visitor", "visitor id (nb_vid)")}${radio("customer", "customer id (the site's)")}</fieldset>
    <p><button type="submit">Look up</button></p>
  </form>`;
}

/** The visitor's latest decisions in the audit log (one page; the Decisions page has the rest). */
function RecentDecisions({ visitorId }: { visitorId: string }) {
  const list = useApi<DecisionPage>(listPath({ visitor: visitorId }, { limit: 20 }));
  return html`<${Section} title="Recent decisions" id="visitor-decisions">
    <${Loading} when=${list.loading} /><${ErrorBox} error=${list.error} />
    ${list.data &&
    html`<${DecisionsTable} decisions=${list.data.decisions} caption=${`Latest decisions for visitor ${visitorId}`} />
      ${list.data.nextCursor && html`<p><a href=${`#/decisions?${new URLSearchParams({ visitor: visitorId })}`}>All of this visitor's decisions</a></p>`}`}
  <//>`;
}

function Visitors({ params, navigate }: PageProps) {
  const found = lookupOf(params);
  // Bumped after an erasure: the decisions are read again (and are gone).
  const [round, setRound] = useState(0);
  return html`<${LookupForm} params=${params} navigate=${navigate} />
    ${found?.kind === "visitor" &&
    html`<${RecentDecisions} key=${`${found.id}-${round}`} visitorId=${found.id} /><${VisitorPreview} key=${`p-${found.id}`} visitorId=${found.id} />`}
    ${found?.kind === "customer" &&
    html`<p class="muted">The audit log keys decisions by visitor; erasing the customer reaches every visitor linked to them.</p>`}
    ${found && html`<${EraseVisitor} key=${`${found.kind}-${found.id}`} kind=${found.kind} id=${found.id} onErased=${() => setRound((r) => r + 1)} />`}`;
}

export const visitorsPage: ConsolePage = { id: "visitors", title: "Visitors", component: Visitors };
