// Single-page apps: a history navigation (pushState, replaceState, popstate) to a new path or
// query is a new page view, and slot elements that appear in the DOM need a decide. Both are
// reported after the current task, so the app has rendered the new page before it is read.
// The one MutationObserver this takes also tells friction.ts when the DOM last changed.
import { UNDECIDED_SLOT } from "./decide.ts";
import type { Listen } from "./dom.ts";

/**
 * Calls `navigated` after each navigation to a new path or query, and `slotsAdded` when
 * undecided slot elements appear. Returns a function that answers when the DOM last changed
 * (`now()` time; -Infinity before any change).
 */
export function watchNavigation(
  win: Window,
  navigated: () => void,
  slotsAdded: () => void,
  listen: Listen,
  now: () => number = Date.now,
): () => number {
  const history = win.history;
  const where = () => win.location.pathname + win.location.search;
  let last = where();
  let changedAt = -Infinity;

  const onNavigate = () =>
    setTimeout(() => {
      // replaceState for scroll positions or hash changes is not a new page.
      if (where() === last) return;
      last = where();
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
  const observer = new (win as Window & typeof globalThis).MutationObserver(() => {
    changedAt = now();
    if (win.document.querySelector(UNDECIDED_SLOT)) setTimeout(slotsAdded);
  });
  observer.observe(win.document, { subtree: true, childList: true, attributes: true, characterData: true });
  return () => changedAt;
}
