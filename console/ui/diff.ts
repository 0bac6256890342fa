/**
 * A diff between two versions (of a block, of a configuration), computed by the `diff` package
 * (jsdiff's diffJson over canonical JSON, diffLines for text) and shown as an accessible list:
 * each changed line says "added" or "removed" in text (a visible +/− and a screen-reader word),
 * so the change is never told by colour only. Long unchanged runs are folded.
 */
import { diffJson, diffLines, type Change } from "diff";
import { html } from "../html.ts";

/** One row of the list: a line added, removed or kept, or a fold of `count` unchanged lines. */
export type DiffRow = { kind: "added" | "removed" | "same"; text: string } | { kind: "fold"; count: number };

/** Unchanged lines kept around each change; longer unchanged runs are folded. */
const CONTEXT = 2;

const linesOf = (value: string) => value.replace(/\n$/, "").split("\n");

/**
 * The rows of a diff from `before` to `after`: strings by line, anything else as JSON (keys in
 * jsdiff's canonical order, so a reordered object is not a change). `undefined` is nothing.
 */
export function diffRows(before: unknown, after: unknown, context = CONTEXT): DiffRow[] {
  const changes: Change[] =
    typeof before === "string" || typeof after === "string"
      ? diffLines(typeof before === "string" ? before : "", typeof after === "string" ? after : "")
      : diffJson((before ?? "") as object, (after ?? "") as object);
  const rows: DiffRow[] = [];
  changes.forEach((change, i) => {
    if (change.value === "") return;
    const lines = linesOf(change.value);
    if (change.added || change.removed) {
      for (const text of lines) rows.push({ kind: change.added ? "added" : "removed", text });
      return;
    }
    const first = i === 0;
    const last = i === changes.length - 1;
    const head = first ? 0 : context;
    const tail = last ? 0 : context;
    if (lines.length <= head + tail + 1) {
      for (const text of lines) rows.push({ kind: "same", text });
      return;
    }
    for (const text of lines.slice(0, head)) rows.push({ kind: "same", text });
    rows.push({ kind: "fold", count: lines.length - head - tail });
    for (const text of lines.slice(lines.length - tail)) rows.push({ kind: "same", text });
  });
  return rows;
}

/** How many lines a diff adds and removes. */
export function diffCounts(rows: DiffRow[]): { added: number; removed: number } {
  return { added: rows.filter((r) => r.kind === "added").length, removed: rows.filter((r) => r.kind === "removed").length };
}

const SIGN = { added: "+", removed: "−", same: " " } as const;

/** The diff as a list, labelled `label` (e.g. "Changes in version 7"), with its counts. */
export function DiffView({ before, after, label }: { before: unknown; after: unknown; label: string }) {
  const rows = diffRows(before, after);
  const { added, removed } = diffCounts(rows);
  if (added === 0 && removed === 0) return html`<p class="muted">${label}: no change.</p>`;
  return html`<figure class="diff">
    <figcaption>${label}: ${added} line${added === 1 ? "" : "s"} added, ${removed} removed</figcaption>
    <ol class="diff-lines" aria-label=${label}>
      ${rows.map((row) =>
        row.kind === "fold"
          ? html`<li class="diff-fold muted">… ${row.count} unchanged line${row.count === 1 ? "" : "s"}</li>`
          : html`<li class=${`diff-${row.kind}`}><span class="diff-sign" aria-hidden="true">${SIGN[row.kind]}</span>${row.kind !== "same" && html`<span class="sr-only">${row.kind}: </span>`}<code>${row.text}</code></li>`,
      )}
    </ol>
  </figure>`;
}
