// Impressions and clicks of decided slots: the slot element carries its decision
// (`data-nb-decision`, `data-nb-block`), whether the client rendered it or the edge did, so
// measuring needs nothing else. Deduplication is the caller's (one event per decision and type).
import type { Listen } from "./dom.ts";

/** Share of the slot that must be in the viewport for an impression (the IAB display standard). */
export const VISIBLE_RATIO = 0.5;
/** How long it must stay there. */
export const VISIBLE_MS = 1000;

export type SlotEventType = "impression" | "click";

/**
 * Reports a click on any decided slot (one delegated listener) and an impression once at least
 * VISIBLE_RATIO of an observed slot has been visible for VISIBLE_MS with the same decision.
 * Returns `observe`, to call for a slot each time it gets a decision.
 */
export function measureSlots(win: Window, report: (type: SlotEventType, slot: Element) => void, listen: Listen): (slot: Element) => void {
  const timers = new Map<Element, ReturnType<typeof setTimeout>>();
  const observer = new (win as Window & typeof globalThis).IntersectionObserver(
    (entries) => {
      for (const { target, intersectionRatio } of entries) {
        clearTimeout(timers.get(target));
        const decisionId = target.getAttribute("data-nb-decision");
        if (decisionId && intersectionRatio >= VISIBLE_RATIO) {
          timers.set(target, setTimeout(() => target.getAttribute("data-nb-decision") === decisionId && report("impression", target), VISIBLE_MS));
        }
      }
    },
    { threshold: VISIBLE_RATIO },
  );
  listen(win.document, "click", ({ target }) => {
    const slot = target.closest?.("[data-nb-decision]"); // only slots carry a decision
    if (slot) report("click", slot);
  });
  return (slot) => {
    // Re-observing makes the observer report the slot's current intersection afresh.
    observer.unobserve(slot);
    observer.observe(slot);
  };
}
