// Builds the script-tag bundle (IIFE, minified) into public/nb.js, served by the Worker's assets.
import { build } from "esbuild";

await build({
  entryPoints: ["client/nb.ts"],
  outfile: "public/nb.js",
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2020"],
  legalComments: "none",
  logLevel: "warning",
});
