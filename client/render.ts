// Puts decided blocks into their slots. Blocks are static HTML: they are parsed through a
// <template>, whose content is inert, and scripts and inline event handlers are dropped before
// the fragment enters the page, so nothing in a block ever runs.
import { findSlots } from "./decide.ts";
import type { Decision } from "./types.ts";

/** Parses block HTML into an inert fragment without scripts or `on…` attributes. */
export function parseBlock(html: string, doc: Document = document): DocumentFragment {
  const template = doc.createElement("template");
  template.innerHTML = html;
  const fragment = template.content;
  for (const element of fragment.querySelectorAll("*")) {
    if (element.localName === "script") element.remove();
    else for (const { name } of [...element.attributes]) if (/^on/i.test(name)) element.removeAttribute(name);
  }
  return fragment;
}

/**
 * Replaces the children of a slot element with the decided block and records the decision
 * on the element: `data-nb-block`, `data-nb-decision`, `data-nb-reason`, `data-nb-model`.
 */
export function renderBlock(slot: Element, decision: Decision): void {
  slot.replaceChildren(parseBlock(decision.block.html, slot.ownerDocument));
  slot.setAttribute("data-nb-block", decision.block.id);
  slot.setAttribute("data-nb-decision", decision.decisionId);
  slot.setAttribute("data-nb-reason", decision.reason);
  slot.setAttribute("data-nb-model", decision.modelVersion ?? "");
}

/**
 * Renders each decision into the slot elements of its name among `slots` (by default every slot
 * a decide fills) and marks each one's `data-nb-state`: `decided`, or `default` when there is no
 * decision for it and its default content stays.
 */
export function renderDecisions(decisions: Decision[], slots: Iterable<Element> = findSlots()): void {
  const bySlot = new Map(decisions.map((decision) => [decision.slot, decision]));
  for (const element of slots) {
    const decision = bySlot.get(element.getAttribute("data-nb-slot")?.trim() ?? "");
    if (decision) renderBlock(element, decision);
    element.setAttribute("data-nb-state", decision ? "decided" : "default");
  }
}
