/**
 * Charts with Observable Plot (@observablehq/plot): a page passes Plot's options, this component
 * draws them into its element and redraws when they change. Plot renders SVG with a `<title>`-less
 * figure; `label` names it for screen readers.
 */
import * as Plot from "@observablehq/plot";
import { useEffect, useRef } from "preact/hooks";
import { html } from "../html.ts";

export { Plot };

export function PlotChart({ options, label }: { options: Plot.PlotOptions; label: string }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const figure = Plot.plot({ style: { background: "transparent" }, ...options });
    // Plot names each mark's <g> ("bar", "dot"): ARIA prohibits a label on an element without a
    // role (axe: aria-prohibited-attr), and the container's role="img" label already names it all.
    // The mark's kind stays as data-mark (tests and styles find marks by it).
    figure.querySelectorAll("g[aria-label]").forEach((g) => {
      g.setAttribute("data-mark", g.getAttribute("aria-label")!);
      g.removeAttribute("aria-label");
    });
    ref.current?.replaceChildren(figure);
    return () => figure.remove();
  }, [options]);
  return html`<div class="chart" role="img" aria-label=${label} ref=${ref}></div>`;
}
