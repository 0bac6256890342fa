/**
 * `npx tsx scripts/first-visit.ts [--rounds 100]`: what a visitor's first page costs under
 * `wrangler dev` next to a returning visitor's, and how much of that is the runtime starting a new
 * Durable Object rather than anything nextbest does.
 *
 * Why: on the peer bench (`../shared/peer-bench/`) each system starts with fresh local state and
 * the bench's 64 visitor ids, so 45 of nextbest's 100 timed pages on the 120 KB page are the first
 * call to that visitor's Durable Object (README, "Proxy mode"); GrowthBook keeps no visitor state.
 *
 * It starts, on loopback with throw-away state:
 * - the peer bench's origin (scripts/peer-origin.mjs, a copy of the bench's page server);
 * - nextbest in proxy mode in front of it, as the peer bench starts it (`wrangler dev`, the
 *   inspector on, `PROXY_PREFIX=/edge`, `PROXY_BUDGET_MS=3000`);
 * - a Worker of a few lines with one SQLite-backed Durable Object class whose method does nothing
 *   (`noop`, no storage touched), written to a temporary folder and served by the same wrangler.
 *
 * Then `--rounds` rounds, each sending, in an order that rotates every round, one request of each
 * kind at 1 connection (keep-alive): nextbest's page for a returning visitor (one of 8 ids seen in
 * the warm-up) and for a new one (an id never sent before); the small Worker calling `noop` on an
 * object it called before and on a new one (its own timing of the call is reported too: the
 * runtime's clock moves across the call's I/O, in whole ms). p50 and p95 of the total time, ms, as
 * the peer bench computes them. Ctrl-C stops every server it started and removes its folders.
 */
import http from "node:http";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, startDevServer } from "./dev-server.ts";

/** The repository's root: the script runs from any folder (startDevServer needs it as the cwd). */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
process.chdir(ROOT);

const args = process.argv.slice(2);
const fail = (message: string): never => {
  console.error(message);
  process.exit(2);
};
for (let i = 0; i < args.length; i += 2) if (args[i] !== "--rounds") fail(`usage: npx tsx scripts/first-visit.ts [--rounds N]; not understood: ${args[i]}`);
const roundsArg = args.indexOf("--rounds");
const ROUNDS = roundsArg >= 0 ? Number(args[roundsArg + 1]) : 100;
if (!Number.isInteger(ROUNDS) || ROUNDS < 1) fail("--rounds must be a positive integer");
const CONSENT = "nb_consent=personalization=1&analytics=1";

const TOY_TOML = `name = "first-object"
main = "index.js"
compatibility_date = "2025-09-01"
[[durable_objects.bindings]]
name = "OBJECT"
class_name = "Probe"
[[migrations]]
tag = "v1"
new_sqlite_classes = ["Probe"]
`;
const TOY_WORKER = `import { DurableObject } from "cloudflare:workers";
export class Probe extends DurableObject { noop() { return 1; } }
export default {
  async fetch(request, env) {
    const name = new URL(request.url).searchParams.get("object") ?? "a";
    const stub = env.OBJECT.get(env.OBJECT.idFromName(name));
    const started = performance.now();
    await stub.noop();
    return new Response(String(performance.now() - started));
  },
};
`;

/** Starts `cmd` in its own process group (so the whole group, wrangler's workerd too, can be stopped). */
function spawnGroup(cmd: string, argv: string[], cwd: string, env: Record<string, string> = {}): ChildProcess {
  return spawn(cmd, argv, { cwd, env: { ...process.env, WRANGLER_SEND_METRICS: "false", ...env }, stdio: "ignore", detached: true });
}
const stopGroup = (child: ChildProcess) => {
  try {
    process.kill(-child.pid!, "SIGTERM");
  } catch {
    // already gone
  }
};

async function waitFor(url: string, child: ChildProcess): Promise<void> {
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; ) {
    if (child.exitCode !== null) throw new Error(`${url}: the server exited with ${child.exitCode}`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} did not answer within 60 s`);
}

/** One GET at 1 connection: total ms (last body byte) and the body. */
function get(agent: http.Agent, url: string, cookie?: string): Promise<{ ms: number; body: string }> {
  return new Promise((done, fail) => {
    const t0 = process.hrtime.bigint();
    http
      .get(url, { agent, headers: { "accept-encoding": "identity", ...(cookie ? { cookie } : {}) } }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => (res.statusCode === 200 ? done({ ms: Number(process.hrtime.bigint() - t0) / 1e6, body: Buffer.concat(chunks).toString() }) : fail(new Error(`${url} answered ${res.statusCode}`))));
      })
      .on("error", fail);
  });
}

/** The p-th quantile as the peer bench reports it: the lower middle for p50, index ⌈p·n⌉−1. */
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.max(0, Math.ceil(p * xs.length) - 1)]!;

async function main(): Promise<void> {
  const originPort = await freePort();
  const origin = spawnGroup("node", ["scripts/peer-origin.mjs", String(originPort)], process.cwd());
  const toyDir = mkdtempSync(join(tmpdir(), "nextbest-first-object-"));
  writeFileSync(join(toyDir, "wrangler.toml"), TOY_TOML);
  writeFileSync(join(toyDir, "index.js"), TOY_WORKER);
  symlinkSync(join(ROOT, "node_modules"), join(toyDir, "node_modules"));
  const toyPort = await freePort();
  // wrangler's debug log goes to the throw-away folder, not ~/.config/.wrangler/logs (as dev-server.ts does).
  const toy = spawnGroup("npx", ["wrangler", "dev", "--ip", "127.0.0.1", "--port", String(toyPort), "--inspector-port", String(await freePort()), "--persist-to", join(toyDir, "state")], toyDir, { WRANGLER_LOG_PATH: join(toyDir, "wrangler.log") });
  let nextbest: Awaited<ReturnType<typeof startDevServer>> | undefined;
  let stopping: Promise<void> | undefined;
  const stopAll = () =>
    (stopping ??= (async () => {
      await nextbest?.stop();
      stopGroup(toy);
      stopGroup(origin);
      await new Promise((r) => setTimeout(r, 300));
      rmSync(toyDir, { recursive: true, force: true });
    })());
  // The servers run in their own process groups, which Ctrl-C does not reach: stop them here.
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => void stopAll().then(() => process.exit(130)));
  try {
    await waitFor(`http://127.0.0.1:${originPort}/product`, origin);
    nextbest = await startDevServer({ vars: { PROXY_ORIGIN: `http://127.0.0.1:${originPort}`, PROXY_PREFIX: "/edge", PROXY_BUDGET_MS: "3000" } });
    await waitFor(`http://127.0.0.1:${toyPort}/?object=warm`, toy);
    const page = `${nextbest.url}/edge/product`;
    const toyUrl = `http://127.0.0.1:${toyPort}/`;
    const agents = { page: new http.Agent({ keepAlive: true, maxSockets: 1 }), toy: new http.Agent({ keepAlive: true, maxSockets: 1 }) };
    const run = Date.now().toString(36);
    const visitor = (id: string) => `${CONSENT}; nb_vid=${id}`;
    for (let i = 0; i < 8; i++) {
      await get(agents.page, page, visitor(`returning-visitor-${i}`));
      await get(agents.toy, `${toyUrl}?object=known-${i}`);
    }
    const kinds = ["nextbest, returning visitor", "nextbest, first visit", "new-object Worker, known object", "new-object Worker, new object"] as const;
    const total: Record<string, number[]> = Object.fromEntries(kinds.map((k) => [k, []]));
    const inside: Record<string, number[]> = { [kinds[2]]: [], [kinds[3]]: [] };
    let unfilled = 0;
    for (let r = 0; r < ROUNDS; r++) {
      for (let k = 0; k < kinds.length; k++) {
        const kind = kinds[(r + k) % kinds.length]!;
        if (kind === kinds[0] || kind === kinds[1]) {
          const id = kind === kinds[0] ? `returning-visitor-${r % 8}` : `first-visit-${run}-${r}`;
          const res = await get(agents.page, page, visitor(id));
          if (!res.body.includes('data-nb-source="edge"')) unfilled++;
          total[kind]!.push(res.ms);
        } else {
          const res = await get(agents.toy, `${toyUrl}?object=${kind === kinds[2] ? `known-${r % 8}` : `new-${run}-${r}`}`);
          total[kind]!.push(res.ms);
          inside[kind]!.push(Number(res.body));
        }
      }
    }
    console.log(`${ROUNDS} rounds at 1 connection, the order rotating; ms, p50 / p95 of the total (last byte)`);
    for (const kind of kinds) {
      // The runtime's clock moves in whole milliseconds (and only across I/O): whole numbers.
      const within = inside[kind] ? `; the call timed inside the Worker ${pct(inside[kind]!, 0.5).toFixed(0)} / ${pct(inside[kind]!, 0.95).toFixed(0)}` : "";
      console.log(`${kind.padEnd(34)} ${pct(total[kind]!, 0.5).toFixed(2)} / ${pct(total[kind]!, 0.95).toFixed(2)}${within}`);
    }
    console.log(`nextbest pages with the slot not filled at the edge: ${unfilled} of ${2 * ROUNDS}`);
  } finally {
    await stopAll();
  }
}

await main();
