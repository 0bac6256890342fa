// The optional parts of the client in one object (extras.ts says why they are optional): what
// nb-extras.js hands to nb.js, and what an ESM user passes as `extras` to createNextbest.
import type { Extras } from "./extras.ts";
import { watchFriction } from "./friction.ts";
import { watchIntents } from "./intent.ts";
import { measureSlots } from "./measure.ts";
import { watchNavigation } from "./navigation.ts";
import { previewPage } from "./preview.ts";
import { listenTcf } from "./tcf.ts";
import { identify } from "./identify.ts";
import { parseBlock } from "./inert.ts";
import { offlineEvents } from "./offline.ts";

/** Every optional part: `createNextbest({ endpoint, extras: async () => ALL_EXTRAS })`. */
export const ALL_EXTRAS: Extras = { measureSlots, watchIntents, watchNavigation, watchFriction, listenTcf, parseBlock, previewPage, identify, offlineEvents };
