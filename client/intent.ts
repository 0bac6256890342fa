// Intent from markup: a click on an element with `data-nb-intent="add_to_cart"`, or the submit
// of a `<form data-nb-intent="search">`, is the same as calling `nextbest.track(name)`; a form
// passes the search term from its `type=search` or `name=q` field. Values (a purchase's amount)
// go through `nextbest.track()` itself.
import type { Listen } from "./dom.ts";
import type { TrackDetails } from "./types.ts";

/** Calls `track` for every intent click and form submit on the page. */
export function watchIntents(doc: Document, track: (name: string, details: TrackDetails) => void, listen: Listen): void {
  listen(doc, "click", ({ target }) => {
    const element: Element | null | undefined = target.closest?.("[data-nb-intent]");
    // A click inside an intent form is not the intent: the form's submit is.
    if (element && element.localName !== "form") track(element.getAttribute("data-nb-intent")!, {});
  });
  listen(doc, "submit", ({ target }) => {
    const intent = target.getAttribute?.("data-nb-intent");
    if (intent) track(intent, { term: target.querySelector("[type=search],[name=q]")?.value });
  });
}
