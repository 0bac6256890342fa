// The second script-tag file, nb-extras.js, loaded by nb.js (see extras.ts): hands the optional
// parts of the client to the page's nb.js client.
import { EXTRAS_EVENT, type Extras } from "./extras.ts";
import { ALL_EXTRAS } from "./optional.ts";

document.dispatchEvent(new CustomEvent<Extras>(EXTRAS_EVENT, { detail: ALL_EXTRAS }));
