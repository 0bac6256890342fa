import type { BuildOptions } from "esbuild";
/** The options nb.js and nb-extras.js are built with. */
export declare const BUNDLE_OPTIONS: BuildOptions;
