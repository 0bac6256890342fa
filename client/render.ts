// Puts decided blocks into their slots, each parsed by the inert block parser (inert.ts), which
// is handed in: nb.js loads it beside its first decide, the ESM entry bundles it.
import { findSlots } from "./decide.ts";
import type { ParseBlock } from "./inert.ts";
import type { Decision } from "./types.ts";

/**
 * Replaces the children of a slot element with the decided block, parsed by `parse`, and records
 * the decision on the element: `data-nb-block`, `data-nb-decision`, `data-nb-reason`, `data-nb-model`.
 */
export function renderBlock(slot: Element, decision: Decision, parse: ParseBlock): void {
  slot.replaceChildren(parse(decision.block.html, slot.ownerDocument));
  slot.setAttribute("data-nb-block", decision.block.id);
  slot.setAttribute("data-nb-decision", decision.decisionId);
  slot.setAttribute("data-nb-reason", decision.reason);
  slot.setAttribute("data-nb-model", decision.modelVersion ?? "");
}

/**
 * Renders each decision into the slot elements of its name among `slots` (by default every slot
 * a decide fills) and marks each one's `data-nb-state`: `decided`, or `default` when there is no
 * decision for it (or no `parse`) and its default content stays.
 */
export function renderDecisions(decisions: Decision[], slots: Iterable<Element> = findSlots(), parse?: ParseBlock): void {
  const bySlot = new Map(parse ? decisions.map((decision) => [decision.slot, decision]) : []);
  for (const element of slots) {
    const decision = bySlot.get(element.getAttribute("data-nb-slot")?.trim() ?? "");
    if (decision) renderBlock(element, decision, parse!);
    element.setAttribute("data-nb-state", decision ? "decided" : "default");
  }
}
