/**
 * `npm run profile -- [decide|events|proxy|all] [seconds]`: where the Worker's CPU goes under load.
 * Starts `wrangler dev` as the bench does (50 hero candidates, many visitors), warms it, then
 * records a V8 CPU profile through the Worker's inspector (Chrome DevTools Protocol, `Profiler`
 * domain) while 8 connections send the chosen request, and prints self time by function and by
 * source file, and the share of idle time. Everything the Worker does in that time is included:
 * the request, the visitor's Durable Object, ONNX, the queue producer and the log consumer.
 *
 * `all` prints a table of CPU per request for every bench row on one server (scripts/profile-all.ts):
 * `/healthz`, decide with default and with every guardrail, events, decide with the adaptive
 * champion, each with the log consumer's catch-up afterwards and its CPU per batch.
 */
import http from "node:http";
import { copyFileSync, readdirSync, writeFileSync } from "node:fs";
import WebSocket from "ws";
import { benchCatalog } from "./bench-catalog.ts";
import { runWrangler, startDevServer } from "./dev-server.ts";
import { profileAll, VISITORS } from "./profile-all.ts";
import type { ProcessCpu } from "./proc-cpu.ts";

const PORT = 8700 + (process.pid % 100);
const what = (process.argv[2] ?? "decide") as "decide" | "events" | "proxy" | "all";
const seconds = Number(process.argv[3] ?? 8);
/** The page proxy mode is profiled on (`PROFILE_PATH`, e.g. `/edge/product` with `PROFILE_VARS=PROXY_ORIGIN:http://127.0.0.1:8810`). */
const PROXY_PATH = process.env.PROFILE_PATH ?? "/edge/";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

function body(i: number): string {
  if (what === "events") {
    const events = Array.from({ length: 20 }, (_, k) => {
      const n = i * 20 + k;
      return { visitorId: `p-visitor-${n % VISITORS}`, decisionId: `p-decision-${n >> 1}`, eventId: `p-event-${n}`, slot: "hero", blockId: "hero-shoes-trail", type: k % 2 ? "click" : "impression" };
    });
    return JSON.stringify({ consent: { analytics: true }, events });
  }
  return JSON.stringify({
    visitorId: `p-visitor-${i % VISITORS}`,
    slots: ["hero", "sidebar"],
    consent: { personalization: true, analytics: true },
    context: { url: "http://localhost/shoes.html", signals: { pageType: "category", pageCategory: "shoes", categoryViews: { shoes: 3, bags: 1 }, visitCount: 2, scrollDepth: 0.4, dwellSeconds: 12, device: "desktop", pageTags: ["sale"] } },
  });
}

let counter = 0;
function request(agent: http.Agent): Promise<void> {
  const i = counter++;
  const proxy = what === "proxy";
  const payload = proxy ? undefined : body(i);
  const headers: Record<string, string> = proxy
    ? { cookie: `nb_consent=personalization%3D1%26analytics%3D1; nb_vid=p-visitor-${i % VISITORS}` }
    : { "content-type": "application/json", "content-length": String(Buffer.byteLength(payload!)) };
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port: PORT, method: proxy ? "GET" : "POST", path: proxy ? PROXY_PATH : what === "events" ? "/v1/events" : "/v1/decide", agent, headers }, (res) => {
      res.resume();
      res.on("end", () => (res.statusCode! < 300 ? resolve() : reject(new Error(`answered ${res.statusCode}`))));
    });
    req.on("error", reject);
    req.end(payload);
  });
}

async function load(ms: number): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const until = Date.now() + ms;
  let done = 0;
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (Date.now() < until) {
      await request(agent);
      done++;
    }
  }));
  agent.destroy();
  return done;
}

async function loadPath(path: string, ms: number): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const until = Date.now() + ms;
  let done = 0;
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (Date.now() < until) {
      await new Promise<void>((resolve, reject) => http.get({ host: "127.0.0.1", port: PORT, path, agent }, (res) => { res.resume(); res.on("end", resolve); }).on("error", reject));
      done++;
    }
  }));
  agent.destroy();
  return done;
}

/** Connects to every inspector target of the dev server (the Worker and its Durable Objects share one isolate locally). */
async function inspect(port: number): Promise<{ send: (method: string, params?: object) => Promise<any>; close: () => void }[]> {
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json`)).json()) as { webSocketDebuggerUrl: string; title?: string }[];
  return Promise.all(targets.map((t) => new Promise<{ send: (m: string, p?: object) => Promise<any>; close: () => void }>((resolve, reject) => {
    const ws = new WebSocket(t.webSocketDebuggerUrl);
    let id = 0;
    const waiting = new Map<number, (v: any) => void>();
    ws.on("message", (data) => {
      const msg = JSON.parse(String(data));
      if (msg.id && waiting.has(msg.id)) waiting.get(msg.id)!(msg.result ?? msg.error);
    });
    ws.on("open", () => resolve({
      send: (method, params) => new Promise((r) => { const n = ++id; waiting.set(n, r); ws.send(JSON.stringify({ id: n, method, params })); }),
      close: () => ws.close(),
    }));
    ws.on("error", reject);
  })));
}

function summarise(profile: Profile): void {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const total = profile.endTime - profile.startTime;
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  for (const [id, us] of self) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const file = url.replace(/^.*\/(worker|node_modules)\//, "$1/") || "(native)";
    const fn = `${functionName || "(anonymous)"} ${file}:${lineNumber + 1}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
    byFile.set(file, (byFile.get(file) ?? 0) + us);
  }
  const pct = (us: number) => `${((us / total) * 100).toFixed(1)}%`;
  const top = (m: Map<string, number>, n: number) => [...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, us]) => `${pct(us).padStart(6)}  ${k}`).join("\n");
  console.log(`\nself time by file (of ${(total / 1e6).toFixed(1)} s):\n${top(byFile, 25)}`);
  console.log(`\nself time by function:\n${top(byFunction, 45)}`);
}

/** CPU ms per request of each role between two readings of the server's processes. */
function perRole(before: ProcessCpu[], after: ProcessCpu[], n: number): Record<string, number> {
  const start = new Map(before.map((p) => [p.pid, p.ms]));
  const out: Record<string, number> = {};
  for (const p of after) out[p.role] = (out[p.role] ?? 0) + (p.ms - (start.get(p.pid) ?? 0)) / n;
  return out;
}

/** CPU per request of `what` against `/healthz`, and with PROFILE_CPU a CPU profile under load. */
async function profileOne(): Promise<void> {
  await load(4000);
  // CPU time of the server's processes per request: it moves less than latency and throughput
  // when other work shares the machine, though not at all only on a quiet one (profile-all.ts).
  const cpuPer = async (ms: number, path?: string) => {
    const before = server.processes();
    const n = path ? await loadPath(path, ms) : await load(ms);
    const roles = perRole(before, server.processes(), n);
    return { n, cpu: Object.values(roles).reduce((a, b) => a + b, 0), roles };
  };
  const health = await cpuPer(seconds * 1000, "/healthz");
  const target = await cpuPer(seconds * 1000);
  console.log(`CPU per request: /healthz ${health.cpu.toFixed(2)} ms (${health.n}), ${what} ${target.cpu.toFixed(2)} ms (${target.n}), ratio ${(target.cpu / health.cpu).toFixed(2)}`);
  // Locally most of a request's CPU can be wrangler's own hops, which production does not have.
  for (const [label, r] of [["/healthz", health], [what, target]] as const) {
    console.log(`  ${label} by process: ${Object.entries(r.roles).map(([role, ms]) => `${role} ${ms.toFixed(2)}`).join(", ")}`);
  }
  if (process.env.PROFILE_CPU) {
    const sessions = await inspect(server.inspectorPort!);
    for (const s of sessions) {
      await s.send("Profiler.enable");
      await s.send("Profiler.setSamplingInterval", { interval: 200 });
      await s.send("Profiler.start");
    }
    const done = await load(seconds * 1000);
    console.log(`${what}: ${done} requests in ${seconds} s on 8 connections (${(done / seconds).toFixed(0)} req/s) while profiling`);
    for (const [i, s] of sessions.entries()) {
      const { profile } = (await s.send("Profiler.stop")) as { profile: Profile };
      writeFileSync(`/tmp/nextbest-${what}-${i}.cpuprofile`, JSON.stringify(profile));
      summarise(profile);
      s.close();
    }
  }
  // The bundle the line numbers refer to (wrangler removes it on exit).
  if (process.env.PROFILE_KEEP_BUNDLE) for (const dir of readdirSync(".wrangler/tmp")) if (dir.startsWith("dev-")) copyFileSync(`.wrangler/tmp/${dir}/index.js`, `/tmp/nextbest-profile-bundle.js`);
}

// PROFILE_INSPECTOR=off: without wrangler's inspector relay (scripts/start-worker.ts), to see what
// that development plumbing costs per request; checked before anything starts.
const inspector = process.env.PROFILE_INSPECTOR ?? "on";
if (inspector !== "on" && inspector !== "off") throw new Error(`PROFILE_INSPECTOR is on or off, not ${JSON.stringify(inspector)}`);
if (inspector === "off" && process.env.PROFILE_CPU) throw new Error("PROFILE_CPU needs the inspector: leave PROFILE_INSPECTOR unset");
const server = await startDevServer({
  port: PORT,
  inspector: inspector === "on",
  // As the bench: rate limits checked on every write but only reported (one client address).
  vars: { EXPLORATION_EPSILON: "0", HOLDOUT_RATE: "0", ADMIN_TOKEN: "profile-token", RATE_LIMIT_MODE: "report", ...Object.fromEntries((process.env.PROFILE_VARS ?? "").split(",").filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf(":")), kv.slice(kv.indexOf(":") + 1)])) },
  // PROFILE_CATALOG=demo: the demo catalog of wrangler.toml's assets, as the peer bench serves it.
  seed: process.env.PROFILE_CATALOG === "demo" ? undefined : (state) => runWrangler(state, ["kv", "key", "put", "--binding", "CONFIG", "catalog", JSON.stringify(benchCatalog())]),
});
try {
  if (what === "all") await profileAll(server, PORT, seconds);
  else await profileOne();
} finally {
  await server.stop();
}
