/** The console's entry point (bundled by scripts/build-console.mjs into public/console/app.js). */
import { render } from "preact";
import { html } from "./html.ts";
import { Console } from "./shell.ts";

render(html`<${Console} />`, document.getElementById("app")!);
