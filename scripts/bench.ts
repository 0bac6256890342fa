/**
 * `npm run bench`: starts `wrangler dev` (workerd, local bindings) and measures, in the same run
 * and against the same server, the trivial route `/healthz`, `POST /v1/decide` with 50 hero
 * candidates — first with the default guardrails, then with every guardrail active — and
 * `POST /v1/events` with 20 events a batch: latency over one keep-alive connection (p50/p99) and
 * throughput over 8 connections, across many visitors, with the log path on (records queued to
 * LOG_QUEUE and written by the consumer in the same workerd while measuring). Then how long a
 * decision takes to show in `GET /admin/decisions`, and the pipeline's health. Prints a table of
 * the figures and their ratios to the baseline.
 * Then the first decides after a fresh start, on an idle and on a loaded machine
 * (scripts/bench-first-decide.ts). Bounded in requests and seconds; loopback only.
 */
import http from "node:http";
import { cpus } from "node:os";
import { benchCatalog, benchGuardrails } from "./bench-catalog.ts";
import { firstVisitTable, measureFirstVisits } from "./bench-first-decide.ts";
import { runWrangler, startDevServer } from "./dev-server.ts";

const PORT = 8800 + (process.pid % 100);
const HOST = "127.0.0.1";
const ADMIN_TOKEN = "bench-admin-token";
const LATENCY_REQUESTS = Number(process.env.BENCH_REQUESTS ?? 2000);
const THROUGHPUT_SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
/** Requests rotate over this many visitors, as real traffic does (each has its Durable Object). */
const VISITORS = 500;

function decideBody(i: number): string {
  return JSON.stringify({
    visitorId: `bench-visitor-${i % VISITORS}`,
    slots: ["hero", "sidebar"],
    consent: { personalization: true, analytics: true },
    context: {
      url: "http://localhost/shoes.html",
      signals: { pageType: "category", pageCategory: "shoes", categoryViews: { shoes: 3, bags: 1 }, visitCount: 2, scrollDepth: 0.4, dwellSeconds: 12, device: "desktop", pageTags: ["sale"] },
    },
  });
}

/** 20 events a batch, as a page's beacon sends them: impressions, clicks, a conversion. */
const EVENTS_PER_BATCH = 20;
function eventsBody(i: number): string {
  const events = Array.from({ length: EVENTS_PER_BATCH }, (_, k) => {
    const n = i * EVENTS_PER_BATCH + k;
    const common = { visitorId: `bench-visitor-${n % VISITORS}`, decisionId: `bench-decision-${n >> 1}`, eventId: `bench-event-${n}`, slot: "hero", blockId: "hero-shoes-trail" };
    return k === EVENTS_PER_BATCH - 1 ? { ...common, type: "conversion", value: 49.9, currency: "EUR" } : { ...common, type: k % 2 ? "click" : "impression" };
  });
  return JSON.stringify({ consent: { analytics: true }, events });
}

interface Target {
  name: string;
  method: "GET" | "POST" | "PUT";
  path: string;
  body?: (i: number) => string;
  headers?: Record<string, string> | ((i: number) => Record<string, string>);
  /** Time to the response's first byte instead of to its last. */
  ttfb?: boolean;
}
const health: Target = { name: "GET /healthz", method: "GET", path: "/healthz" };
const decide = (name: string): Target => ({ name, method: "POST", path: "/v1/decide", body: decideBody });
const events: Target = { name: `POST /v1/events, ${EVENTS_PER_BATCH} events a batch`, method: "POST", path: "/v1/events", body: eventsBody };

let counter = 0;
function request(agent: http.Agent, t: Target): Promise<number> {
  return new Promise((resolve, reject) => {
    const i = counter++;
    const body = t.body?.(i);
    const extra = typeof t.headers === "function" ? t.headers(i) : t.headers;
    const headers = { ...(body ? { "content-type": "application/json", "content-length": String(Buffer.byteLength(body)) } : {}), ...extra };
    const start = process.hrtime.bigint();
    const req = http.request({ host: HOST, port: PORT, method: t.method, path: t.path, agent, headers }, (res) => {
      const firstByte = process.hrtime.bigint();
      res.resume();
      res.on("end", () => {
        if (res.statusCode !== 200 && res.statusCode !== 202) reject(new Error(`${t.path} answered ${res.statusCode}`));
        else resolve(Number((t.ttfb ? firstByte : process.hrtime.bigint()) - start) / 1e6);
      });
    });
    req.on("error", reject);
    req.end(body);
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

async function setGuardrails(config: unknown): Promise<void> {
  const body = JSON.stringify(config);
  await request(new http.Agent(), { name: "PUT", method: "PUT", path: "/admin/guardrails", body: () => body, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
}

/**
 * Fails unless the model ranked (benchmarking the fallback would flatter the figures). Tried a few
 * times: on a busy machine the first decides may still be loading the model, or wrangler may
 * restart the Worker once just after start.
 */
async function checkRanked(attempts = 5): Promise<string> {
  for (let i = 1; ; i++) {
    try {
      return await checkRankedOnce();
    } catch (err) {
      if (i >= attempts) throw err;
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
}

async function checkRankedOnce(): Promise<string> {
  const res = await fetch(`http://${HOST}:${PORT}/v1/decide`, { method: "POST", headers: { "content-type": "application/json" }, body: decideBody(1) });
  const { decisions } = (await res.json()) as { decisions: Array<{ reason: string; modelVersion: string }> };
  if (decisions.some((d) => d.reason !== "ranked")) throw new Error(`decide did not rank: ${JSON.stringify(decisions)}`);
  return decisions[0]!.modelVersion;
}

/** Activates the registered model named `name` (POST /admin/models/:id/activate). */
/** Waits (at most a minute) until GET /admin/pipeline estimates no backlog. */
async function pipelineDrained(): Promise<void> {
  for (const until = Date.now() + 60_000; Date.now() < until; await new Promise((r) => setTimeout(r, 500))) {
    const { backlog } = (await adminGet("/admin/pipeline")) as unknown as { backlog: { decisions: number; events: number } };
    if (backlog.decisions + backlog.events === 0) return;
  }
}

async function setChampion(name: string): Promise<void> {
  const { models } = (await adminGet("/admin/models?limit=200")) as unknown as { models: Array<{ id: string; name: string }> };
  const id = models.find((m) => m.name === name)?.id;
  if (!id) throw new Error(`no registered model named ${name}`);
  await fetch(`http://${HOST}:${PORT}/admin/models/${id}/activate`, { method: "POST", headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  // Serving isolates pick the change up within the deployment TTL (5 s).
  await new Promise((r) => setTimeout(r, 6000));
}

async function adminGet(path: string): Promise<Record<string, { count?: number } & Record<string, unknown>>> {
  return (await fetch(`http://${HOST}:${PORT}${path}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json() as never;
}

/** Time from a decide answer until its decision is listed by the admin API (through the log queue), ms. */
async function decisionVisibleAfter(): Promise<number> {
  const visitorId = `bench-visibility-${Date.now()}`;
  const res = await fetch(`http://${HOST}:${PORT}/v1/decide`, { method: "POST", headers: { "content-type": "application/json" }, body: decideBody(0).replace("bench-visitor-0", visitorId) });
  const answered = Date.now();
  const { decisions } = (await res.json()) as { decisions: { decisionId: string }[] };
  for (;;) {
    const listed = (await adminGet(`/admin/decisions?visitor=${visitorId}`)) as unknown as { decisions: { decisionId: string }[] };
    if (listed.decisions.length === decisions.length) return Date.now() - answered;
    if (Date.now() - answered > 60_000) throw new Error("decision not visible after 60 s");
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function main() {
  // `BENCH_ONLY=first-visit npm run bench`: only the first decides after start.
  if (process.env.BENCH_ONLY !== "first-visit") await steadyState();
  // The first visit, each case on a fresh server (after the one above has stopped).
  const firstVisits = await measureFirstVisits(PORT);
  console.log("\nfirst decides after start (default budgets: cold start 1 s, ranking 20 ms; SPEC: ≤ 500 ms and ranked within the client's 600 ms)\n");
  console.log(firstVisitTable(firstVisits));
}

/** Latency and throughput of warm routes, on one server. */
async function steadyState() {
  const server = await startDevServer({
    port: PORT,
    // Rate limits are checked on every write (so measured) but only reported: the bench sends
    // thousands of requests from one address.
    vars: { EXPLORATION_EPSILON: "0", HOLDOUT_RATE: "0", ADMIN_TOKEN, RATE_LIMIT_MODE: "report" },
    // Seed the 50-candidate catalog into the local KV the dev server will read.
    seed: (state) => runWrangler(state, ["kv", "key", "put", "--binding", "CONFIG", "catalog", JSON.stringify(benchCatalog())]),
  });
  try {
    const model = await checkRanked();
    // Warm-up: every bench visitor's Durable Object exists and is loaded before measuring.
    const warm = new http.Agent({ keepAlive: true });
    for (let i = 0; i < 200; i++) await request(warm, health);
    for (let i = 0; i < 2 * VISITORS; i++) await request(warm, decide("warm"));

    const rows: Array<{ t: Target; p50: number; p99: number; rps: number }> = [];
    const measure = async (t: Target) => rows.push({ t, ...(await latency(t)), rps: await throughput(t) });
    await measure(health);
    await setGuardrails({});
    await measure(decide("POST /v1/decide, default guardrails"));
    await setGuardrails(benchGuardrails());
    await checkRanked();
    await measure(decide("POST /v1/decide, every guardrail active"));
    await setGuardrails({});
    await measure(events);
    // The built-in adaptive model as champion: Thompson sampling + Monte Carlo propensity (issue 14).
    // Its state is read from D1 on an isolate's first use: let the consumer work off the events
    // row's backlog first, or that read waits behind it past the cold-start budget.
    await pipelineDrained();
    await setChampion("nextbest-adaptive");
    if (!(await checkRanked(15)).startsWith("nextbest-adaptive@")) throw new Error("the adaptive model does not serve");
    for (let i = 0; i < 2 * VISITORS; i++) await request(warm, decide("warm"));
    await measure(decide("POST /v1/decide, adaptive champion (Thompson sampling)"));
    await setChampion("nextbest-default");

    // Proxy mode: time to first byte of the demo home page through the edge, personalised (a
    // consenting visitor: slots decided while the page streams) against passed through (no consent).
    const proxyRows: Array<{ name: string; p50: number; p99: number }> = [];
    const page = (name: string, headers: Target["headers"]): Target => ({ name, method: "GET", path: "/edge/", headers, ttfb: true });
    const consentCookie = (i: number) => ({ cookie: `nb_consent=personalization%3D1%26analytics%3D1; nb_vid=bench-visitor-${i % VISITORS}` });
    for (let i = 0; i < 100; i++) await request(warm, page("warm", consentCookie));
    for (const t of [page("GET /edge/ passed through (no consent)", {}), page("GET /edge/ personalised (50 candidates)", consentCookie)]) proxyRows.push({ name: t.name, ...(await latency(t)) });

    const f = (n: number) => n.toFixed(2);
    const added = (n: number) => `${n >= 0 ? "+" : ""}${f(n)}`;
    const base = rows[0]!;
    console.log(`\nnextbest bench — ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, node ${process.version}, wrangler dev (workerd) on ${HOST}`);
    console.log(`${LATENCY_REQUESTS} sequential requests per row on 1 connection; ${THROUGHPUT_SECONDS} s per row on 8 connections;`);
    console.log(`decide: 50 hero candidates + sidebar, ONNX ranking, visitor Durable Object (${VISITORS} visitors), model ${model}\n`);
    console.log("| route | p50 ms | p99 ms | req/s (8 conn) | p50 added | p99 added | throughput vs healthz |");
    console.log("|---|---:|---:|---:|---:|---:|---:|");
    for (const r of rows) {
      const vs = r === base ? "| – | – | – |" : `| ${added(r.p50 - base.p50)} | ${added(r.p99 - base.p99)} | ${((r.rps / base.rps) * 100).toFixed(0)}% |`;
      console.log(`| ${r.t.name} | ${f(r.p50)} | ${f(r.p99)} | ${r.rps.toFixed(0)} ${vs}`);
    }
    console.log("\n| proxy mode: time to first byte | p50 ms | p99 ms | p50 added | p99 added |");
    console.log("|---|---:|---:|---:|---:|");
    for (const r of proxyRows) {
      const b = proxyRows[0]!;
      console.log(`| ${r.name} | ${f(r.p50)} | ${f(r.p99)} | ${r === b ? "–" : added(r.p50 - b.p50)} | ${r === b ? "–" : added(r.p99 - b.p99)} |`);
    }
    const visible = await decisionVisibleAfter();
    const pipeline = await adminGet("/admin/pipeline");

    console.log(`\nbudgets: decide adds ≤ 2 ms p50 and ≤ 10 ms p99, throughput ≥ 50% of healthz; events throughput ≥ 50% of healthz`);
    console.log(`a decision visible in GET /admin/decisions after the answer (budget ≤ 10 s): ${(visible / 1000).toFixed(1)} s`);
    console.log(`pipeline after the run (GET /admin/pipeline): ${JSON.stringify({ sent: pipeline.sent, stored: pipeline.stored, lost: pipeline.lost, deadLetters: pipeline.deadLetters?.count, writeFailures: pipeline.writeFailures?.count })}`);
  } finally {
    await server.stop();
  }
}

await main();
