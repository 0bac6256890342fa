// Friction: signs that the page is getting in the visitor's way. Each occurrence is reported by
// kind; the client sends it as a custom event `friction.<kind>` and counts it in the session (a
// custom signal named after the kind, like every counter). Heuristics, kept deliberately simple:
// - rage_click: RAGE_CLICKS clicks in a row, each within RAGE_GAP_MS and RAGE_RADIUS_PX of the
//   one before (once a burst);
// - dead_click: a click on a link or button after which, for DEAD_CLICK_MS, neither the DOM nor
//   the URL changes;
// - field_error: a form field fails the browser's constraint validation (`invalid`);
// - form_abandon: the page is left with a form typed into but not submitted (once a page);
// - rapid_back: a page restored from the back/forward cache less than RAPID_BACK_MS after it
//   was left (the visitor went back straight away);
// - exit_intent: the mouse leaves the window through its top edge, towards the tabs and the
//   address bar (once a page). Touch screens have no pointer to leave, so this is desktop only.
import type { Listen } from "./dom.ts";

export type FrictionKind = "rage_click" | "dead_click" | "field_error" | "form_abandon" | "rapid_back" | "exit_intent";

export const RAGE_CLICKS = 3;
export const RAGE_GAP_MS = 500;
export const RAGE_RADIUS_PX = 30;
export const DEAD_CLICK_MS = 1000;
export const RAPID_BACK_MS = 5000;

/**
 * Starts watching `win` for friction, reporting each occurrence. `changedAt` answers when the DOM
 * last changed (navigation.ts observes it). Returns what to call when the page is left: forms
 * typed into but not submitted are abandoned.
 */
export function watchFriction(
  win: Window,
  report: (kind: FrictionKind) => void,
  listen: Listen,
  changedAt: () => number,
  now: () => number = Date.now,
): () => void {
  const doc = win.document;
  let burst = 0; // clicks in a row on about the same spot
  let lastAt = 0;
  let lastX = 0;
  let lastY = 0;
  let exited = false;
  let hiddenAt = 0;
  let typedForm: HTMLFormElement | undefined; // typed into and not submitted

  listen(doc, "click", ({ target, clientX: x, clientY: y }: MouseEvent) => {
    const at = now();
    burst = at - lastAt < RAGE_GAP_MS && Math.hypot(x - lastX, y - lastY) < RAGE_RADIUS_PX ? burst + 1 : 1;
    [lastAt, lastX, lastY] = [at, x, y];
    if (burst === RAGE_CLICKS) report("rage_click");
    // Only a burst's first click is watched: the others are no more dead than it is.
    const element = target as Element;
    if (burst > 1 || !element.closest?.("a,button,[role=button]")) return;
    const url = win.location.href;
    setTimeout(() => changedAt() < at && win.location.href === url && report("dead_click"), DEAD_CLICK_MS);
  });
  listen(doc, "invalid", () => report("field_error"));
  listen(doc, "input", ({ target }) => (typedForm = target.form ?? typedForm));
  listen(doc, "submit", ({ target }) => target === typedForm && (typedForm = undefined));
  listen(doc, "mouseout", ({ relatedTarget, clientY }: MouseEvent) => {
    if (relatedTarget || clientY > 0 || exited) return;
    exited = true;
    report("exit_intent");
  });
  // A page restored from the back/forward cache does not run its scripts again.
  listen(win, "pageshow", ({ persisted }: PageTransitionEvent) => persisted && now() - hiddenAt < RAPID_BACK_MS && report("rapid_back"));

  return () => {
    hiddenAt = now();
    if (typedForm?.isConnected) report("form_abandon");
    typedForm = undefined;
  };
}
