/**
 * `npx tsx scripts/start-worker.ts --project DIR --port N --persist-to DIR [--inspector off] [--var NAME:value]…`
 *
 * Serves a Worker project locally as `wrangler dev` does (workerd and miniflare, through the same
 * front dev proxy), started through wrangler's own API (`unstable_startWorker`, from the project's
 * installed wrangler) so that one setting the `wrangler dev` command line does not offer can be
 * chosen: `--inspector off`. With the inspector on (the command line's only mode), wrangler
 * enables the runtime's `Network` domain and relays every inspector event — each subrequest's
 * request, response and, when it finishes, its whole body in base64 — through a Worker in the
 * front workerd to its Node process, which appends each one to its debug log file
 * (wrangler 4.86: `templates/startDevWorker/InspectorProxyWorker.ts`, `sendDebugLog` on every
 * runtime message; `src/utils/log-file.ts`). That is development plumbing, absent in production,
 * and it costs per subrequest byte: this launcher lets `npm run profile` and a side-by-side run
 * (scripts/side-by-side.ts) measure a Worker with and without it.
 *
 * Prints `ready <url>` once serving; stops on SIGTERM or SIGINT. Any Worker project works (its
 * `wrangler.toml` is read as `wrangler dev` reads it); `--var` overrides plain-text variables.
 */
import { createRequire } from "node:module";
import { resolve } from "node:path";

interface Options {
  project: string;
  port: number;
  persistTo: string;
  inspector: boolean;
  vars: Record<string, string>;
}

function parseArgs(argv: string[]): Options {
  const out: Partial<Options> & { vars: Record<string, string> } = { inspector: true, vars: {} };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[++i];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === "--project") out.project = resolve(value);
    else if (flag === "--port") out.port = Number(value);
    else if (flag === "--persist-to") out.persistTo = resolve(value);
    else if (flag === "--inspector") {
      if (value !== "on" && value !== "off") throw new Error("--inspector is on or off");
      out.inspector = value === "on";
    } else if (flag === "--var") {
      const at = value.indexOf(":");
      if (at < 1) throw new Error(`--var takes NAME:value, not ${value}`);
      out.vars[value.slice(0, at)] = value.slice(at + 1);
    } else throw new Error(`unknown option ${flag}`);
  }
  if (!out.project || !out.persistTo || !Number.isInteger(out.port) || out.port! < 1) throw new Error("usage: start-worker.ts --project DIR --port N --persist-to DIR [--inspector on|off] [--var NAME:value]…");
  return out as Options;
}

const options = parseArgs(process.argv.slice(2));
// The project's own wrangler, as `npx wrangler dev` in that folder would run.
const { unstable_startWorker } = createRequire(`${options.project}/`)("wrangler") as typeof import("wrangler");
process.chdir(options.project);
const worker = await unstable_startWorker({
  config: `${options.project}/wrangler.toml`,
  bindings: Object.fromEntries(Object.entries(options.vars).map(([name, value]) => [name, { type: "plain_text" as const, value }])),
  dev: {
    inspector: options.inspector ? { hostname: "127.0.0.1", port: 0 } : false,
    persist: options.persistTo,
    server: { hostname: "127.0.0.1", port: options.port },
    watch: false,
    logLevel: "warn",
  },
});
await worker.ready;
console.log(`ready ${(await worker.url).href}`);
const stop = () => void worker.dispose().finally(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
