// The optional parts of the script-tag client: measuring impressions and clicks of slots, intents
// in the markup, single-page-app navigation, the friction heuristics and the IAB TCF bridge. None
// is needed for the first decide (an impression takes a second of visibility anyway; navigation
// catches up with what happened before it loaded), so nb.js loads them as a second file,
// nb-extras.js (built from nb-extras.ts), which keeps the script tag within its 5 KB budget. The
// file also carries the inert block parser (inert.ts, with the block HTML policy), which the first
// render needs: nb.js starts loading it when it starts, beside the first decide.
import type { watchFriction } from "./friction.ts";
import type { identify } from "./identify.ts";
import type { ParseBlock } from "./inert.ts";
import type { watchIntents } from "./intent.ts";
import type { measureSlots } from "./measure.ts";
import type { watchNavigation } from "./navigation.ts";
import type { offlineEvents } from "./offline.ts";
import type { previewPage } from "./preview.ts";
import type { listenTcf } from "./tcf.ts";

/** What nb-extras.js hands over, as the detail of EXTRAS_EVENT on the document. */
export interface Extras {
  measureSlots: typeof measureSlots;
  watchIntents: typeof watchIntents;
  watchNavigation: typeof watchNavigation;
  watchFriction: typeof watchFriction;
  listenTcf: typeof listenTcf;
  /** The inert block parser, which rendering needs: nb.js loads this file beside its first decide for it. */
  parseBlock: ParseBlock;
  /** Renders a preview link's answer (`?nb_preview=`) instead of deciding. */
  previewPage: typeof previewPage;
  /** The offline event queue (offline.ts): events that could not leave wait in IndexedDB. */
  offlineEvents: typeof offlineEvents;
  /** `nextbest.identify` (worker/identity/): absent in extras made before it existed. */
  identify?: typeof identify;
}

/** Dispatched on the document by nb-extras.js once it has run. */
export const EXTRAS_EVENT = "nextbest:extras";

/**
 * Loads nb-extras.js from `src` with a classic `<script>` (no CORS needed, allowed wherever nb.js
 * is) and resolves with what it hands over. Rejects if it cannot be loaded.
 */
export function loadExtras(src: string, doc: Document = document): Promise<Extras> {
  return new Promise((resolve, reject) => {
    doc.addEventListener(EXTRAS_EVENT, (event) => resolve((event as CustomEvent<Extras>).detail), { once: true });
    const script = doc.createElement("script");
    script.src = src;
    script.onerror = reject;
    doc.head.append(script);
  });
}
