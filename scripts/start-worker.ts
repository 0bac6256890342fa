/**
 * `npx tsx scripts/start-worker.ts --project DIR --port N --persist-to DIR [--inspector off] [--var NAME:value]…`
 *
 * Serves a Worker project locally as `wrangler dev` does (workerd and miniflare, through the same
 * front dev proxy), started through wrangler's own API (`unstable_startWorker`, from the project's
 * installed wrangler) so that one setting the `wrangler dev` command line does not offer can be
 * chosen: `--inspector off`. With the inspector on (the command line's only mode), wrangler
 * enables the runtime's `Network` domain and relays every inspector event — each subrequest's
 * request, response and, when it finishes, its whole body in base64 — through a Worker in the
 * front workerd, which also keeps every event in memory until DevTools attaches, to its Node
 * process, which formats each one into its debug log file (wrangler 4.86:
 * `templates/startDevWorker/InspectorProxyWorker.ts`, `sendDebugLog` and `runtimeMessageBuffer`
 * on every runtime message; `appendToDebugLogFile` in `wrangler-dist/cli.js`). That is
 * development plumbing, absent in production, and it costs per subrequest byte: this launcher
 * lets `npm run profile` and a side-by-side run (scripts/side-by-side.ts) measure a Worker with
 * and without it.
 *
 * Prints `ready <url>` once serving; stops on SIGTERM or SIGINT. The project's `wrangler.toml`,
 * `wrangler.json` or `wrangler.jsonc` is read as `wrangler dev` reads it; `--var` overrides
 * plain-text variables. wrangler's debug log goes to `<persist-to>/wrangler-debug.log` unless
 * WRANGLER_LOG_PATH says otherwise. Errors: a usage error, a port that is taken or a project
 * without a configuration or without wrangler installed prints one line and exits 2.
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { join, resolve } from "node:path";

interface Options {
  project: string;
  port: number;
  persistTo: string;
  inspector: boolean;
  vars: Record<string, string>;
}

const USAGE = "usage: start-worker.ts --project DIR --port N --persist-to DIR [--inspector on|off] [--var NAME:value]…";

/** A mistake in how the script was called: printed as one line, exit code 2. */
class UsageError extends Error {}

function parseArgs(argv: string[]): Options {
  const out: Partial<Options> & { vars: Record<string, string> } = { inspector: true, vars: {} };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    if (flag === "--help" || flag === "-h") throw new UsageError(USAGE);
    const value = argv[++i];
    if (value === undefined) throw new UsageError(`${flag} needs a value (${USAGE})`);
    if (flag === "--project") out.project = resolve(value);
    else if (flag === "--port") out.port = Number(value);
    else if (flag === "--persist-to") out.persistTo = resolve(value);
    else if (flag === "--inspector") {
      if (value !== "on" && value !== "off") throw new UsageError("--inspector is on or off");
      out.inspector = value === "on";
    } else if (flag === "--var") {
      const at = value.indexOf(":");
      if (at < 1) throw new UsageError(`--var takes NAME:value, not ${value}`);
      out.vars[value.slice(0, at)] = value.slice(at + 1);
    } else throw new UsageError(`unknown option ${flag} (${USAGE})`);
  }
  if (!out.project || !out.persistTo || out.port === undefined) throw new UsageError(USAGE);
  if (!Number.isInteger(out.port) || out.port < 1 || out.port > 65_535) throw new UsageError(`--port takes a port number (1–65535), not ${out.port}`);
  return out as Options;
}

/**
 * Whether 127.0.0.1:`port` can be bound now. Checked first because wrangler's API, unlike its
 * command line, never settles when its server cannot bind: it would wait forever.
 */
function portFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const probe = createServer();
    probe.once("error", () => done(false));
    probe.listen(port, "127.0.0.1", () => probe.close(() => done(true)));
  });
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const config = ["wrangler.toml", "wrangler.json", "wrangler.jsonc"].map((name) => join(options.project, name)).find((path) => existsSync(path));
  if (!config) throw new UsageError(`no wrangler.toml, wrangler.json or wrangler.jsonc in ${options.project}`);
  if (!(await portFree(options.port))) throw new UsageError(`port ${options.port} on 127.0.0.1 is taken`);
  // Set before wrangler loads: it fixes its debug log's path when its module is first read.
  process.env.WRANGLER_LOG_PATH ??= join(options.persistTo, "wrangler-debug.log");
  let wrangler: typeof import("wrangler");
  try {
    // The project's own wrangler, as `npx wrangler dev` in that folder would run.
    wrangler = createRequire(`${options.project}/`)("wrangler") as typeof import("wrangler");
  } catch {
    throw new UsageError(`wrangler is not installed in ${options.project} (run npm ci there first)`);
  }
  process.chdir(options.project);
  const worker = await wrangler.unstable_startWorker({
    config,
    bindings: Object.fromEntries(Object.entries(options.vars).map(([name, value]) => [name, { type: "plain_text" as const, value }])),
    dev: {
      inspector: options.inspector ? { hostname: "127.0.0.1", port: 0 } : false,
      persist: options.persistTo,
      server: { hostname: "127.0.0.1", port: options.port },
      watch: false,
      logLevel: "warn",
    },
  });
  // From here on a signal stops workerd with us (before it, nothing needs stopping).
  const stop = () =>
    void worker.dispose().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(`stopping: ${err instanceof Error ? err.message : String(err)}`);
        process.exit(1);
      },
    );
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  await worker.ready;
  console.log(`ready ${(await worker.url).href}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof UsageError ? err.message : err);
  process.exit(err instanceof UsageError ? 2 : 1);
});
