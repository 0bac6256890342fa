/** Small building blocks every page uses: loading a route, showing its error, a titled section. */
import type { ComponentChildren } from "preact";
import { useCallback, useEffect, useState } from "preact/hooks";
import { api, ApiError } from "../api.ts";
import { html } from "../html.ts";

export interface Loaded<T> {
  data: T | undefined;
  error: ApiError | Error | undefined;
  loading: boolean;
  /** Loads again (after a change). */
  reload: () => void;
}

/** GETs `path` (again whenever it changes; nothing while it is null) and keeps its answer. */
export function useApi<T>(path: string | null): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: ApiError | Error; loading: boolean }>({ loading: path !== null });
  const [round, setRound] = useState(0);
  useEffect(() => {
    if (path === null) return;
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    api<T>(path).then(
      (data) => live && setState({ data, loading: false }),
      (error: Error) => live && setState({ error, loading: false }),
    );
    return () => {
      live = false;
    };
  }, [path, round]);
  const reload = useCallback(() => setRound((r) => r + 1), []);
  return { data: state.data, error: state.error, loading: state.loading, reload };
}

/** An error as the API gave it: its code and each `path: message` on its own line. */
export function ErrorBox({ error }: { error: ApiError | Error | undefined | null }) {
  if (!error) return null;
  const lines = error instanceof ApiError ? error.lines : [error.message];
  const code = error instanceof ApiError ? error.code : "error";
  return html`<div class="error" role="alert"><strong>${code}</strong>
    <ul>${lines.map((line) => html`<li><code>${line}</code></li>`)}</ul></div>`;
}

/** A titled part of a page. */
export function Section({ title, children, id }: { title: string; children: ComponentChildren; id?: string }) {
  const headingId = `h-${id ?? title.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`;
  return html`<section aria-labelledby=${headingId}><h2 id=${headingId}>${title}</h2>${children}</section>`;
}

/** "Loading…" while a route answers (announced to screen readers). */
export function Loading({ when }: { when: boolean }) {
  return when ? html`<p class="muted" role="status">Loading…</p>` : null;
}

/** A percentage with one decimal, "–" for null. */
export const pct = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? "–" : `${(x * 100).toFixed(1)}%`);
/** A date-time in the viewer's locale from ms since the epoch. */
export const when = (ms: number | null | undefined) => (ms ? new Date(ms).toLocaleString() : "–");
