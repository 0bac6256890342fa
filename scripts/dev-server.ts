/**
 * Starts `wrangler dev` (workerd + miniflare) on loopback with a throw-away state folder, for the
 * benchmark and the browser tests. Resolves once `/healthz` (or `readyPath`) answers.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, openSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { groupCpuMs, groupProcesses, type ProcessCpu } from "./proc-cpu.ts";

export interface DevServer {
  url: string;
  /** The local state folder (KV, …) the server persists to. */
  state: string;
  stop(): Promise<void>;
  /** CPU time used so far by the server's processes (workerd and wrangler), ms (Linux /proc). */
  cpuMs(): number;
  /** The same per process, with its role (wrangler, the front workerd, the Worker's workerd). */
  processes(): ProcessCpu[];
  /** The Worker's inspector port (Chrome DevTools Protocol; `/json` lists its targets); absent with `inspector: false`. */
  inspectorPort?: number;
  /** wrangler's debug log (WRANGLER_LOG_PATH): in `state`, or in NB_DEV_SERVER_LOGS when set. */
  debugLog: string;
}

export interface DevServerOptions {
  /** Default: a port the system reports free (so servers started at once never share one). */
  port?: number;
  /** `--var NAME:value` overrides of wrangler.toml's [vars]. */
  vars?: Record<string, string>;
  /** Runs before the server starts, with the state folder (e.g. to seed KV). */
  seed?: (state: string) => Promise<void>;
  timeoutMs?: number;
  /** The path polled until the server answers (default `/healthz`, which wakes the Worker). */
  readyPath?: string;
  /**
   * `false`: served without wrangler's inspector and its relay of every inspector event
   * (scripts/start-worker.ts), to measure what that development plumbing costs. Default: on, as
   * `wrangler dev` always runs.
   */
  inspector?: boolean;
}

const env = { ...process.env, WRANGLER_SEND_METRICS: "false" };

/** Runs a command to completion (stdout discarded), with `extraEnv` added to the environment. */
export function run(cmd: string, args: string[], extraEnv: Record<string, string> = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { env: { ...env, ...extraEnv }, stdio: ["ignore", "ignore", "inherit"] });
    p.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(" ")} exited ${code}`))));
  });
}

/**
 * Runs `wrangler <args> --local --persist-to <state>` (migrations, seeding KV) with wrangler's
 * debug log in that state folder, removed with it, instead of ~/.config/.wrangler/logs.
 */
export function runWrangler(state: string, args: string[]): Promise<void> {
  return run("npx", ["wrangler", ...args, "--local", "--persist-to", state], { WRANGLER_LOG_PATH: join(state, "wrangler-cli.log") });
}

async function waitReady(url: string, child: ChildProcess, deadline: number, path: string): Promise<void> {
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the dev server exited with ${child.exitCode}`);
    try {
      const res = await fetch(`${url}${path}`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error("the dev server did not become ready in time");
}

/** A TCP port free on 127.0.0.1 right now (the system's choice for port 0). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/** Starts the server; `stop()` kills its process group and removes the state folder. */
export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const state = mkdtempSync(join(tmpdir(), "nextbest-dev-"));
  await runWrangler(state, ["d1", "migrations", "apply", "DB"]);
  await options.seed?.(state);
  const vars = Object.entries(options.vars ?? {}).flatMap(([k, v]) => ["--var", `${k}:${v}`]);
  // Ports the system says are free, not ones derived from a pid: two test files whose pids agree
  // modulo a range once shared a port, and the second file's tests talked to the first's server.
  // Its own inspector port too: left to wrangler, servers started at once race for the same free one.
  const port = options.port ?? (await freePort());
  const inspectorPort = options.inspector === false ? undefined : await freePort();
  // Its chatter (including failed update checks on a closed network) is not ours to print, unless
  // NB_DEV_SERVER_LOGS names a folder: then each server's output goes to `<folder>/dev-<port>.log`
  // (to diagnose a browser test that failed under load).
  const logDir = process.env.NB_DEV_SERVER_LOGS;
  const log = logDir ? openSync(join(logDir, `dev-${port}.log`), "a") : "ignore";
  // wrangler appends a debug log of every inspector event (each subrequest's network events) to
  // ~/.config/.wrangler/logs: hundreds of MB a test run that nobody reads. It goes to the state
  // folder instead, removed with it (or beside the server's output when that is kept).
  const debugLog = logDir ? join(logDir, `dev-${port}.wrangler.log`) : join(state, "wrangler-debug.log");
  const command =
    inspectorPort === undefined
      ? ["tsx", "scripts/start-worker.ts", "--project", ".", "--port", String(port), "--inspector", "off", "--persist-to", state, ...vars]
      : ["wrangler", "dev", "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(inspectorPort), "--persist-to", state, ...vars];
  const child = spawn("npx", command, {
    env: { ...env, WRANGLER_LOG_PATH: debugLog },
    stdio: ["ignore", log, log],
    detached: true,
  });
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    try {
      process.kill(-child.pid!, "SIGTERM");
    } catch {
      // already gone
    }
    await new Promise((r) => setTimeout(r, 300));
    rmSync(state, { recursive: true, force: true });
  };
  try {
    await waitReady(url, child, Date.now() + (options.timeoutMs ?? 60_000), options.readyPath ?? "/healthz");
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, state, stop, cpuMs: () => groupCpuMs(child.pid!), processes: () => groupProcesses(child.pid!, port), ...(inspectorPort === undefined ? {} : { inspectorPort }), debugLog };
}
