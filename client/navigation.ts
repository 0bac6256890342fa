// Single-page apps: a history navigation (pushState, replaceState, popstate) to a new path or
// query is a new page view, and slot elements that appear in the DOM need a decide. Both are
// reported after the current task, so the app has rendered the new page before it is read.
// The one MutationObserver this takes also tells friction.ts when the DOM last changed. Part of
// nb-extras.js, so it may start after the page did: what happened before is caught up with.
import { UNDECIDED_SLOT } from "./decide.ts";
import type { Listen } from "./dom.ts";

/**
 * Calls `navigated` after each navigation to a new path or query, and `slotsAdded` when
 * undecided slot elements appear. `since` is the path and query the page was decided for: if
 * the app has navigated from it, or added slots, before this starts, that is reported at once.
 * Returns a function that answers when the DOM last changed (`now()` time; -Infinity before any
 * change).
 */
export function watchNavigation(
  win: Window,
  navigated: () => void,
  slotsAdded: () => void,
  listen: Listen,
  now: () => number = Date.now,
  since = where(win),
): () => number {
  const history = win.history;
  let last = since;
  let changedAt = -Infinity;

  const onNavigate = () =>
    setTimeout(() => {
      // replaceState for scroll positions or hash changes is not a new page.
      if (where(win) === last) return;
      last = where(win);
      navigated();
    });
  for (const method of ["pushState", "replaceState"] as const) {
    const original = history[method];
    history[method] = function (this: History, ...args: Parameters<History["pushState"]>) {
      original.apply(this, args);
      onNavigate();
    };
  }
  listen(win, "popstate", onNavigate);

  // One selector check per batch of mutations keeps the observer cheap on busy pages. Several
  // batches may schedule slotsAdded; the first marks the slots, so the others find none.
  const slotsCheck = () => win.document.querySelector(UNDECIDED_SLOT) && setTimeout(slotsAdded);
  const observer = new (win as Window & typeof globalThis).MutationObserver(() => {
    changedAt = now();
    slotsCheck();
  });
  observer.observe(win.document, { subtree: true, childList: true, attributes: true, characterData: true });
  onNavigate();
  slotsCheck();
  return () => changedAt;
}

/** The path and query of the page: what makes a new page view in a single-page app. */
export const where = (win: Window): string => win.location.pathname + win.location.search;
