/**
 * The audit log in the console: the search's address ↔ `GET /admin/decisions` query, and the
 * table of decisions the Decisions and Visitors pages both show. Shapes are the API's
 * (worker/audit/record.ts); nothing here filters or computes what the route already answers.
 */
import type { AuditRecord } from "../../worker/audit/record.ts";
import { html } from "../html.ts";
import { when } from "./common.ts";

export type { AuditRecord };

/** One page of `GET /admin/decisions`. */
export interface DecisionPage {
  decisions: AuditRecord[];
  nextCursor: string | null;
}

/** The search fields, as the page address holds them (`#/decisions?visitor=…&from=…`). */
export const SEARCH_FIELDS = ["visitor", "block", "model", "slot", "from", "to"] as const;
export type SearchField = (typeof SEARCH_FIELDS)[number];
export type Search = Record<SearchField, string>;

/** The search an address describes (absent fields are ""). */
export function searchOf(params: URLSearchParams): Search {
  return Object.fromEntries(SEARCH_FIELDS.map((f) => [f, params.get(f)?.trim() ?? ""])) as Search;
}

/** The address parameters of a search: only the fields filled in (so the address stays short). */
export function searchParams(search: Partial<Search>, extra: Record<string, string> = {}): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of SEARCH_FIELDS) {
    const v = search[f]?.trim();
    if (v) out[f] = v;
  }
  return { ...out, ...extra };
}

/**
 * A time field as the API takes it: a `datetime-local` value ("2026-11-30T23:00", the viewer's
 * time zone) becomes ms since the epoch; anything else (ms, ISO with an offset) goes as typed and
 * the route says if it is not a time.
 */
export function apiTime(value: string): string {
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(value)) {
    const ms = new Date(value).getTime();
    if (Number.isFinite(ms)) return String(ms);
  }
  return value;
}

/** The `GET /admin/decisions` path of a search (with its page `cursor`, if any). */
export function listPath(search: Partial<Search>, opts: { limit?: number; cursor?: string | null } = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(searchParams(search))) q.set(k, k === "from" || k === "to" ? apiTime(v) : v);
  q.set("limit", String(opts.limit ?? 50));
  if (opts.cursor) q.set("cursor", opts.cursor);
  return `/admin/decisions?${q}`;
}

/** The address of one decision's "why this block". */
export const decisionHref = (decisionId: string) => `#/decisions?${new URLSearchParams({ id: decisionId })}`;

/** A number with up to 4 decimals ("–" for null/undefined). */
export const num = (x: number | null | undefined, digits = 4) =>
  x === null || x === undefined || !Number.isFinite(x) ? "–" : String(Number(x.toFixed(digits)));

/** The decisions of a page as a table; each opens as "why this block". */
export function DecisionsTable({ decisions, caption }: { decisions: AuditRecord[]; caption: string }) {
  if (decisions.length === 0) return html`<p class="muted">No decision in the audit log matches.</p>`;
  return html`<div class="table-wrap" tabindex="0"><table class="audit-list"><caption>${caption}</caption>
    <thead><tr><th scope="col">Time</th><th scope="col">Slot</th><th scope="col">Block</th><th scope="col">Reason</th>
      <th scope="col">Model</th><th scope="col">Holdout</th><th scope="col">Visitor key</th><th scope="col">Decision</th></tr></thead>
    <tbody>${decisions.map(
      (d) => html`<tr>
        <td>${when(d.time)}</td><td>${d.slot}</td><td><code>${d.chosenBlockId}</code></td><td>${d.reason}${d.fallbackCause ? ` (${d.fallbackCause})` : ""}</td>
        <td>${d.modelVersion ? html`<code>${d.modelVersion}</code>` : "–"}</td><td>${d.holdout ? d.holdoutScope ?? "yes" : "no"}</td>
        <td><code title=${d.visitorKey}>${d.visitorKey.slice(0, 8)}…</code></td>
        <td><a href=${decisionHref(d.decisionId)} aria-label=${`Why this block: ${d.chosenBlockId} (decision ${d.decisionId})`}>Why this block</a></td>
      </tr>`,
    )}</tbody></table></div>`;
}
