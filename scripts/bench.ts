/**
 * `npm run bench`: starts `wrangler dev` (workerd, local bindings) and measures, in the same run
 * and against the same server, the trivial route `/healthz` and `POST /v1/decide` with 50 hero
 * candidates: latency over one keep-alive connection (p50/p99) and throughput over 8
 * connections. Prints a table of the figures and their ratios to the baseline. Bounded in
 * requests and seconds; loopback only.
 */
import http from "node:http";
import { cpus } from "node:os";
import { benchCatalog } from "./bench-catalog.ts";
import { run, startDevServer } from "./dev-server.ts";

const PORT = 8800 + (process.pid % 100);
const HOST = "127.0.0.1";
const LATENCY_REQUESTS = Number(process.env.BENCH_REQUESTS ?? 2000);
const THROUGHPUT_SECONDS = Number(process.env.BENCH_SECONDS ?? 5);

const decideBody = JSON.stringify({
  visitorId: "bench-visitor-2",
  slots: ["hero", "sidebar"],
  consent: { personalization: true, analytics: true },
  context: {
    url: "http://localhost/shoes.html",
    signals: { pageType: "category", pageCategory: "shoes", categoryViews: { shoes: 3, bags: 1 }, visitCount: 2, scrollDepth: 0.4, dwellSeconds: 12, device: "desktop" },
  },
});

interface Target {
  name: string;
  method: "GET" | "POST";
  path: string;
  body?: string;
}
const health: Target = { name: "GET /healthz", method: "GET", path: "/healthz" };
const decide: Target = { name: "POST /v1/decide (50 candidates)", method: "POST", path: "/v1/decide", body: decideBody };

function request(agent: http.Agent, t: Target): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const req = http.request(
      { host: HOST, port: PORT, method: t.method, path: t.path, agent, headers: t.body ? { "content-type": "application/json", "content-length": Buffer.byteLength(t.body) } : {} },
      (res) => {
        res.resume();
        res.on("end", () => {
          if (res.statusCode !== 200) reject(new Error(`${t.path} answered ${res.statusCode}`));
          else resolve(Number(process.hrtime.bigint() - start) / 1e6);
        });
      },
    );
    req.on("error", reject);
    req.end(t.body);
  });
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

async function latency(t: Target): Promise<{ p50: number; p99: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const times: number[] = [];
  for (let i = 0; i < LATENCY_REQUESTS; i++) times.push(await request(agent, t));
  agent.destroy();
  times.sort((a, b) => a - b);
  return { p50: pct(times, 50), p99: pct(times, 99) };
}

async function throughput(t: Target, connections = 8): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const until = Date.now() + THROUGHPUT_SECONDS * 1000;
  let done = 0;
  const started = Date.now();
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (Date.now() < until) {
        await request(agent, t);
        done++;
      }
    }),
  );
  agent.destroy();
  return done / ((Date.now() - started) / 1000);
}

async function main() {
  const server = await startDevServer({
    port: PORT,
    vars: { EXPLORATION_EPSILON: "0", HOLDOUT_RATE: "0" },
    // Seed the 50-candidate catalog into the local KV the dev server will read.
    seed: (state) => run("npx", ["wrangler", "kv", "key", "put", "--binding", "CONFIG", "--local", "--persist-to", state, "catalog", JSON.stringify(benchCatalog())]),
  });
  try {
    const first = await request(new http.Agent(), decide);
    // Benchmark the real path only: the model must have ranked (not the fallback).
    const check = await fetch(`http://${HOST}:${PORT}/v1/decide`, { method: "POST", headers: { "content-type": "application/json" }, body: decideBody });
    const { decisions } = (await check.json()) as { decisions: Array<{ reason: string; modelVersion: string }> };
    if (decisions.some((d) => d.reason !== "ranked")) throw new Error(`decide did not rank: ${JSON.stringify(decisions)}`);
    for (const t of [health, decide]) for (let i = 0; i < 200; i++) await request(new http.Agent({ keepAlive: true }), t);

    const lh = await latency(health);
    const ld = await latency(decide);
    const th = await throughput(health);
    const td = await throughput(decide);

    const f = (n: number) => n.toFixed(2);
    console.log(`\nnextbest bench — ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, node ${process.version}, wrangler dev (workerd) on ${HOST}`);
    console.log(`${LATENCY_REQUESTS} sequential requests per route on 1 connection; ${THROUGHPUT_SECONDS} s per route on 8 connections\n`);
    console.log("| route | p50 ms | p99 ms | req/s (8 conn) |");
    console.log("|---|---:|---:|---:|");
    console.log(`| ${health.name} | ${f(lh.p50)} | ${f(lh.p99)} | ${th.toFixed(0)} |`);
    console.log(`| ${decide.name} | ${f(ld.p50)} | ${f(ld.p99)} | ${td.toFixed(0)} |`);
    console.log(`| decide − healthz (budget +2 / +10 ms, ≥ 50%) | +${f(ld.p50 - lh.p50)} | +${f(ld.p99 - lh.p99)} | ${((td / th) * 100).toFixed(0)}% |`);
    console.log(`\nmodel ${decisions[0]!.modelVersion}; first decide after start (ONNX runtime init, budget ≤ 500 ms): ${first.toFixed(0)} ms`);
  } finally {
    await server.stop();
  }
}

await main();
