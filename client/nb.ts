// The script-tag entry, bundled into public/nb.js:
//   <script src="https://EDGE/nb.js" async></script>
// It exposes window.nextbest and, once the DOM is parsed, starts it: one decide fills every
// [data-nb-slot], and measuring and listening begin. Until then, and whenever anything fails,
// the slots keep their default content; the page itself is never hidden.
import { createNextbest, resolveEndpoint, type Nextbest } from "./client.ts";
import { loadExtras } from "./extras.ts";

declare global {
  interface Window {
    nextbest?: Nextbest;
  }
}

// currentScript is only set while this script first runs, so read it before anything awaits.
const script = document.currentScript as HTMLScriptElement | null;
const endpoint = resolveEndpoint(script);
// The optional parts (friction, the TCF bridge) are in nb-extras.js, next to nb.js.
const nextbest = createNextbest({ endpoint, urlParams: script?.dataset.urlParams?.split(","), extras: () => loadExtras(new URL("nb-extras.js", script?.src || `${endpoint}/`).href) });
window.nextbest = nextbest;
// Page scripts that load before nb.js (such as a consent banner) wait for this event.
document.dispatchEvent(new CustomEvent("nextbest:ready"));

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", () => void nextbest.start());
} else {
  void nextbest.start();
}
