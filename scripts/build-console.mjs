// Builds the console (console/, Preact + htm + Observable Plot) into public/console/app.js, served
// by the Worker's assets at /console/. No CDN at run time: everything is in the one bundle, built
// with the script tag's options (scripts/build-client.mjs).
import { build } from "esbuild";
import { BUNDLE_OPTIONS } from "./build-client.mjs";

if (import.meta.url === `file://${process.argv[1]}`) {
  await build({ ...BUNDLE_OPTIONS, entryPoints: ["console/main.ts"], outfile: "public/console/app.js" });
}
