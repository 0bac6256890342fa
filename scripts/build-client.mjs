// Builds the script-tag bundles (IIFE, minified) into public/, served by the Worker's assets:
// nb.js, the script tag, and nb-extras.js, its optional parts, which nb.js loads after the first
// decide (client/extras.ts).
import { build } from "esbuild";

/** The options both bundles are built with; test/client/size.test.ts measures nb.js with them. */
export const BUNDLE_OPTIONS = {
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2020"],
  legalComments: "none",
  logLevel: "warning",
};

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const name of ["nb", "nb-extras"]) {
    await build({ ...BUNDLE_OPTIONS, entryPoints: [`client/${name}.ts`], outfile: `public/${name}.js` });
  }
}
