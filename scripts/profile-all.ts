/**
 * `npm run profile -- all [seconds]`: CPU time of the server's processes (workerd and wrangler,
 * Linux /proc) per request for every row of the bench, on one server, in the bench's order:
 * `/healthz`, decide (default guardrails), decide (every guardrail), events (20 a batch), decide
 * with the adaptive champion. CPU per request moves less than latency and throughput when other
 * work shares the machine, but it does rise once more processes want the cores than there are
 * (cache misses, preemption: 6.7 → 10.1 ms a decide at a load average of 5.4 on 2 cores), so
 * compare two commits in runs made one right after the other, and on a quiet machine.
 *
 * Per row: `load` = CPU while 8 connections send the row's request, per request (the log
 * consumer runs meanwhile in the same workerd, as in the bench); `drain` = CPU after the load
 * until `GET /admin/pipeline` shows no backlog (the consumer's catch-up), per request of the row;
 * `consumer/batch` = the drain's CPU per queue batch the consumer committed during the drain
 * (with the drain's records per batch), i.e. what one consumer batch costs when nothing else runs.
 */
import http from "node:http";
import { benchGuardrails } from "./bench-catalog.ts";
import type { DevServer } from "./dev-server.ts";

/**
 * Distinct visitors the load cycles through: `PROFILE_VISITORS` (a positive integer; the peer
 * bench uses 64), default 500 as the bench. Shared with scripts/profile.ts.
 */
export const VISITORS = profileVisitors(process.env.PROFILE_VISITORS);

function profileVisitors(text: string | undefined): number {
  if (text === undefined) return 500;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`PROFILE_VISITORS must be a positive integer, not ${JSON.stringify(text)}`);
  return n;
}
const ADMIN = { authorization: "Bearer profile-token" };
const DRAIN_LIMIT_MS = 90_000;

type Row = "healthz" | "decide" | "guardrails" | "events" | "adaptive";

function decideBody(i: number): string {
  return JSON.stringify({
    visitorId: `p-visitor-${i % VISITORS}`,
    slots: ["hero", "sidebar"],
    consent: { personalization: true, analytics: true },
    context: { url: "http://localhost/shoes.html", signals: { pageType: "category", pageCategory: "shoes", categoryViews: { shoes: 3, bags: 1 }, visitCount: 2, scrollDepth: 0.4, dwellSeconds: 12, device: "desktop", pageTags: ["sale"] } },
  });
}

/** As the bench's events row: 20 events a batch, impressions, clicks and a conversion. */
function eventsBody(i: number): string {
  const events = Array.from({ length: 20 }, (_, k) => {
    const n = i * 20 + k;
    const common = { visitorId: `p-visitor-${n % VISITORS}`, decisionId: `p-decision-${n >> 1}`, eventId: `p-event-${n}`, slot: "hero", blockId: "hero-shoes-trail" };
    return k === 19 ? { ...common, type: "conversion", value: 49.9, currency: "EUR" } : { ...common, type: k % 2 ? "click" : "impression" };
  });
  return JSON.stringify({ consent: { analytics: true }, events });
}

export async function profileAll(server: DevServer, port: number, seconds: number): Promise<void> {
  let counter = 0;
  let unavailable = 0;
  /** One request; a 503 (wrangler dev reloading, or its proxy under a loaded machine) is retried, up to 5 times, and counted. */
  const send = async (agent: http.Agent, row: Row, attempt = 1): Promise<void> => {
    try {
      await sendOnce(agent, row);
    } catch (err) {
      if (!(err instanceof Error && err.message.endsWith("answered 503")) || attempt >= 5) throw err;
      unavailable++;
      await new Promise((r) => setTimeout(r, 500));
      await send(agent, row, attempt + 1);
    }
  };
  const sendOnce = (agent: http.Agent, row: Row): Promise<void> => {
    const i = counter++;
    const body = row === "healthz" ? undefined : row === "events" ? eventsBody(i) : decideBody(i);
    const headers = body ? { "content-type": "application/json", "content-length": String(Buffer.byteLength(body)) } : {};
    const path = row === "healthz" ? "/healthz" : row === "events" ? "/v1/events" : "/v1/decide";
    return new Promise((resolve, reject) => {
      const req = http.request({ host: "127.0.0.1", port, method: body ? "POST" : "GET", path, agent, headers }, (res) => {
        res.resume();
        res.on("end", () => (res.statusCode! < 300 ? resolve() : reject(new Error(`${path} answered ${res.statusCode}`))));
      });
      req.on("error", reject);
      req.end(body);
    });
  };
  const load = async (row: Row, ms: number): Promise<number> => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    const until = Date.now() + ms;
    let done = 0;
    await Promise.all(Array.from({ length: 8 }, async () => {
      while (Date.now() < until) {
        await send(agent, row);
        done++;
      }
    }));
    agent.destroy();
    return done;
  };
  const admin = async (method: string, path: string, body?: unknown) => {
    // D1 answers behind the consumer's batches: on a loaded machine that can take minutes.
    const res = await fetch(`http://127.0.0.1:${port}${path}`, { method, headers: { ...ADMIN, "content-type": "application/json" }, ...(body ? { body: JSON.stringify(body) } : {}), signal: AbortSignal.timeout(60_000) });
    if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}`);
    return res.json() as Promise<any>;
  };
  const pipeline = async () => {
    const p = await admin("GET", "/admin/pipeline");
    return { backlog: p.backlog.decisions + p.backlog.events, batches: p.batches as number, stored: p.stored.decisions + p.stored.events + p.duplicates.decisions + p.duplicates.events };
  };
  /**
   * Waits until the consumer has worked off the backlog, at most `DRAIN_LIMIT_MS` (as the bench,
   * which waits a minute): on a loaded machine it may not get there, and the row says so.
   */
  const drained = async (): Promise<boolean> => {
    // Producers write their sent counts at most once a second.
    await new Promise((r) => setTimeout(r, 1500));
    for (const until = Date.now() + DRAIN_LIMIT_MS; Date.now() < until; await new Promise((r) => setTimeout(r, 500))) if ((await pipeline().catch(() => ({ backlog: -1 }))).backlog === 0) return true;
    return false;
  };

  const table: string[] = [];
  const measure = async (row: Row, name: string) => {
    await load(row, 2000); // warm this row's code paths
    await drained();
    const cpu0 = server.cpuMs();
    const n = await load(row, seconds * 1000);
    const cpu1 = server.cpuMs();
    const p1 = await pipeline().catch(() => undefined);
    const done = await drained();
    const p2 = await pipeline().catch(() => undefined);
    const cpu2 = server.cpuMs();
    const batches = p1 && p2 ? p2.batches - p1.batches : 0;
    const f = (x: number) => x.toFixed(2);
    const perBatch = batches > 0 ? `${f((cpu2 - cpu1) / batches)} (${((p2!.stored - p1!.stored) / batches).toFixed(0)} rec)` : "–";
    table.push(`| ${name}${done ? "" : " (backlog left after 90 s)"} | ${n} | ${f((cpu1 - cpu0) / n)} | ${f((cpu2 - cpu1) / n)} | ${f((cpu2 - cpu0) / n)} | ${perBatch} |`);
    console.log(table.at(-1));
  };

  const warm = new http.Agent({ keepAlive: true, maxSockets: 8 });
  // Every visitor's Durable Object exists before measuring (1,000 decides on 8 connections).
  await Promise.all(Array.from({ length: 8 }, async () => {
    for (let i = 0; i < (2 * VISITORS) / 8; i++) await send(warm, "decide");
  }));
  console.log(`CPU ms per request (server processes, /proc), ${seconds} s of 8 connections per row`);
  console.log("| row | requests | load CPU ms/req | drain CPU ms/req | total CPU ms/req | consumer CPU ms/batch (records) |\n|---|---:|---:|---:|---:|---:|");
  await measure("healthz", "GET /healthz");
  await admin("PUT", "/admin/guardrails", {});
  await measure("decide", "decide, default guardrails");
  await admin("PUT", "/admin/guardrails", benchGuardrails());
  await measure("guardrails", "decide, every guardrail");
  await admin("PUT", "/admin/guardrails", {});
  await measure("events", "events, 20 a batch");
  const { models } = await admin("GET", "/admin/models?limit=200");
  const adaptive = (models as Array<{ id: string; name: string }>).find((m) => m.name === "nextbest-adaptive");
  if (!adaptive) throw new Error("no built-in adaptive model");
  await admin("POST", `/admin/models/${adaptive.id}/activate`);
  await new Promise((r) => setTimeout(r, 6000)); // the deployment TTL
  const check = await (await fetch(`http://127.0.0.1:${port}/v1/decide`, { method: "POST", headers: { "content-type": "application/json" }, body: decideBody(1) })).json() as { decisions: Array<{ modelVersion: string | null }> };
  if (!check.decisions[0]?.modelVersion?.startsWith("nextbest-adaptive@")) throw new Error(`the adaptive model does not serve: ${JSON.stringify(check)}`);
  await measure("adaptive", "decide, adaptive champion");
  warm.destroy();
  console.log(`\n${table.length} rows; ${unavailable} request(s) answered 503 and were retried; load average ${(await import("node:os")).loadavg().map((l) => l.toFixed(1)).join(" ")}`);
}
