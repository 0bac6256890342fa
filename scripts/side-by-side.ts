/**
 * `npx tsx scripts/side-by-side.ts NAME=URL NAME=URL… [--rounds 100] [--seconds 10]`
 *
 * Times already running local Workers side by side on one page each, as the peer bench
 * (`../shared/peer-bench/`) does, so that two ways of serving them can be compared on their own:
 * e.g. nextbest and GrowthBook's edge app each started by scripts/start-worker.ts with and
 * without wrangler's inspector relay (README, "Proxy mode").
 *
 * - 1 connection: `--rounds` rounds after 5 warm-up requests per system; each round sends one
 *   request to every system, the order rotating every round, so machine noise lands on all alike.
 *   TTFB is the first body byte, total the last; p50 and p95.
 * - 8 connections, keep-alive: two rounds of `--seconds` per system, the order reversed in the
 *   second; requests per second, and CPU ms per request of the processes in the process group of
 *   the process listening on the URL's port (user + system time from /proc, scripts/proc-cpu.ts).
 *
 * Every request carries the peer bench's cookie (consent for personalisation and analytics and a
 * returning visitor id from a pool of 64, in nextbest's and GrowthBook's cookie), and every body
 * is checked for the peer page's hero slot left at its default (`>default</div>`), counted per system.
 */
import http from "node:http";
import { readFileSync } from "node:fs";
import { groupListeningOn, groupProcesses, processGroup } from "./proc-cpu.ts";

interface System {
  name: string;
  url: URL;
  pgid: number;
  ttfb: number[];
  total: number[];
  left: number;
  requests: number;
  seconds: number;
  cpu: Record<string, number>;
}

const args = process.argv.slice(2);
const option = (flag: string, fallback: number) => {
  const at = args.indexOf(flag);
  if (at < 0) return fallback;
  const n = Number(args.splice(at, 2)[1]);
  if (!Number.isInteger(n) || n < 1) fail(`${flag} takes a positive integer`);
  return n;
};
if (args.includes("--help") || args.includes("-h")) {
  console.log("usage: side-by-side.ts NAME=URL NAME=URL… [--rounds N] [--seconds S]");
  process.exit(0);
}
const ROUNDS = option("--rounds", 100);
const SECONDS = option("--seconds", 10);
const USAGE = "usage: side-by-side.ts NAME=URL NAME=URL… [--rounds N] [--seconds S]";
if (!args.length) fail(USAGE);
const unknown = args.find((a) => a.startsWith("-"));
if (unknown) fail(`unknown option ${unknown} (${USAGE})`);
/** A request that has not finished after this long fails the run, ms. */
const REQUEST_TIMEOUT_MS = 30_000;

/** Usage and setup errors: one line, exit code 2. */
function fail(message: string): never {
  console.error(message);
  process.exit(2);
}

const seen = new Set<string>();
const systems: System[] = args.map((arg) => {
  const at = arg.indexOf("=");
  if (at < 1) fail(`expected NAME=URL, got ${arg}`);
  let url: URL;
  try {
    url = new URL(arg.slice(at + 1));
  } catch {
    fail(`not a URL: ${arg.slice(at + 1)} (in ${arg})`);
  }
  if (url.protocol !== "http:") fail(`only http: URLs are timed, not ${url.href}`);
  const port = Number(url.port || 80);
  const pgid = groupListeningOn(port) ?? fail(`nothing listens on port ${port}`);
  if (seen.has(arg.slice(0, at))) fail(`${arg.slice(0, at)} is named twice`);
  seen.add(arg.slice(0, at));
  // A server started without job control (a script without `set -m`) shares this process's
  // group: its CPU could not be told apart from the client's and the other servers'.
  if (pgid === processGroup("self")) fail(`${url.host} runs in this script's own process group: start each server in its own (job control, e.g. \`set -m\` in a script)`);
  return { name: arg.slice(0, at), url, pgid, ttfb: [], total: [], left: 0, requests: 0, seconds: 0, cpu: {} };
});

let visitor = 0;
function cookie(): string {
  const id = `benchvisitor-${String(visitor++ % 64).padStart(4, "0")}`;
  return `nb_consent=personalization=1&analytics=1; nb_vid=${id}; gbuuid=${id}`;
}

/** One GET; resolves with first-byte and last-byte times, ms, and whether the hero kept its default. */
function get(s: System, agent: http.Agent): Promise<{ ttfb: number; total: number; left: boolean }> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    let ttfb = 0;
    const parts: Buffer[] = [];
    const req = http.get(s.url, { agent, timeout: REQUEST_TIMEOUT_MS, headers: { cookie: cookie(), "accept-encoding": "identity" } }, (res) => {
      res.on("data", (d: Buffer) => {
        ttfb ||= performance.now() - start;
        parts.push(d);
      });
      res.on("end", () => {
        if (res.statusCode !== 200) return reject(new Error(`${s.name} answered ${res.statusCode}`));
        resolve({ ttfb, total: performance.now() - start, left: Buffer.concat(parts).includes('data-nb-slot="hero">default</div>') });
      });
    });
    req.on("timeout", () => req.destroy(new Error(`${s.name} did not answer within ${REQUEST_TIMEOUT_MS / 1000} s`)));
    req.on("error", reject);
  });
}

/** The timed rounds and loads, then the table. */
async function run(): Promise<void> {
  const agents = new Map(systems.map((s) => [s, new http.Agent({ keepAlive: true, maxSockets: 1 })]));
  for (const s of systems) for (let i = 0; i < 5; i++) await get(s, agents.get(s)!);
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < systems.length; k++) {
      const s = systems[(round + k) % systems.length]!;
      const r = await get(s, agents.get(s)!);
      s.ttfb.push(r.ttfb);
      s.total.push(r.total);
      if (r.left) s.left++;
    }
  }
  for (const agent of agents.values()) agent.destroy();

  async function load(s: System): Promise<void> {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    const port = Number(s.url.port);
    const before = groupProcesses(s.pgid, port);
    const started = performance.now();
    const until = Date.now() + SECONDS * 1000;
    let done = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (Date.now() < until) {
          if ((await get(s, agent)).left) s.left++;
          done++;
        }
      }),
    );
    s.seconds += (performance.now() - started) / 1000;
    agent.destroy();
    for (const p of groupProcesses(s.pgid, port)) s.cpu[p.role] = (s.cpu[p.role] ?? 0) + p.ms - (before.find((b) => b.pid === p.pid)?.ms ?? 0);
    s.requests += done;
  }
  for (const s of systems) await load(s);
  for (const s of [...systems].reverse()) await load(s);

  const pct = (values: number[], p: number) => {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!.toFixed(2);
  };
  const [first] = systems;
  const rate = (s: System) => s.requests / s.seconds;
  console.log(`${ROUNDS} rounds on 1 connection; 2 × ${SECONDS} s per system on 8 connections; load average ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}`);
  console.log("| system | TTFB p50 / p95 ms | total p50 / p95 ms | req/s (× the first system's) | CPU ms/request | by process | hero left default |");
  console.log("|---|---|---|---|---|---|---|");
  for (const s of systems) {
    const cpu = Object.values(s.cpu).reduce((a, b) => a + b, 0) / s.requests;
    const roles = Object.entries(s.cpu).map(([role, ms]) => `${role} ${(ms / s.requests).toFixed(2)}`).join(", ");
    console.log(`| ${s.name} | ${pct(s.ttfb, 50)} / ${pct(s.ttfb, 95)} | ${pct(s.total, 50)} / ${pct(s.total, 95)} | ${rate(s).toFixed(1)} (${(rate(s) / rate(first!)).toFixed(2)}×) | ${cpu.toFixed(2)} | ${roles} | ${s.left} |`);
  }
}

// A server that fails a request (an error status, a reset, no answer) ends the run in one line.
run().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
