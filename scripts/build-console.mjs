// Builds the console (console/, Preact + htm + Observable Plot) into public/console/app.js, served
// by the Worker's assets at /console/. No CDN at run time: everything is in the one bundle.
import { build } from "esbuild";

if (import.meta.url === `file://${process.argv[1]}`) {
  await build({
    entryPoints: ["console/main.ts"],
    outfile: "public/console/app.js",
    bundle: true,
    minify: true,
    format: "iife",
    target: ["es2020"],
    legalComments: "none",
    logLevel: "warning",
  });
}
