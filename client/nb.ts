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
// The optional parts (friction, the TCF bridge, a preview link's renderer) and the inert block
// parser are in nb-extras.js, next to nb.js: loaded once, from now, beside the first decide
// (rendering needs the parser).
const loading = loadExtras(new URL("nb-extras.js", script?.src || `${endpoint}/`).href);
loading.catch(() => undefined); // a failed load leaves the default content, quietly
const extras = () => loading;
const nextbest = createNextbest({ endpoint, urlParams: script?.dataset.urlParams?.split(","), extras });
// A preview link (client/preview.ts) renders the Worker's preview instead of deciding.
const preview = new URLSearchParams(location.search).get("nb_preview");
window.nextbest = nextbest;
// Page scripts that load before nb.js (such as a consent banner) wait for this event.
document.dispatchEvent(new CustomEvent("nextbest:ready"));

const run = () => void (preview ? extras().then((x) => x.previewPage(preview, endpoint)) : nextbest.start());
if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", run);
} else {
  run();
}
