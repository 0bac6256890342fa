/**
 * Other tools read the lake: traffic goes through the real Worker (`wrangler dev`), the lake is
 * flushed through the admin API, and DuckDB reads the Parquet objects straight from the local R2
 * persistence folder, as it would read them from R2/S3 in production.
 */
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import { openSync, readSync, closeSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevServer, type DevServer } from "../../scripts/dev-server.ts";

const TOKEN = "lake-duckdb-admin-token";
const ADMIN = { authorization: `Bearer ${TOKEN}` };
const VISITORS = 12;
const SLOTS = ["hero", "sidebar"];

let server: DevServer;
let duck: DuckDBConnection;

async function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${server.url}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
}

/** Files under `dir` that are Parquet (PAR1 at both ends): miniflare keeps each R2 object as one blob file. */
function parquetBlobs(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const st = statSync(path);
    if (st.isDirectory()) out.push(...parquetBlobs(path));
    else if (st.size >= 12) {
      const fd = openSync(path, "r");
      const head = Buffer.alloc(4);
      const tail = Buffer.alloc(4);
      readSync(fd, head, 0, 4, 0);
      readSync(fd, tail, 0, 4, st.size - 4);
      closeSync(fd);
      if (head.toString() === "PAR1" && tail.toString() === "PAR1") out.push(path);
    }
  }
  return out;
}

async function rows(sql: string): Promise<Record<string, unknown>[]> {
  return (await duck.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
}

const list = (files: string[]) => `[${files.map((f) => `'${f.replace(/'/g, "''")}'`).join(", ")}]`;

interface Sent {
  decisions: { decisionId: string; slot: string; blockId: string; visitorId: string }[];
  events: number;
  conversionValue: number;
}

const sent: Sent = { decisions: [], events: 0, conversionValue: 0 };

beforeAll(async () => {
  server = await startDevServer({ vars: { ADMIN_TOKEN: TOKEN, EXPLORATION_EPSILON: "0" }, timeoutMs: 120_000 });
  for (let v = 0; v < VISITORS; v++) {
    const visitorId = `lake-duck-${v}`;
    const res = await post("/v1/decide", {
      visitorId,
      slots: SLOTS,
      consent: { personalization: true, analytics: true },
      context: { url: "https://shop.example/shoes.html", signals: { pageType: "category", pageCategory: "shoes", visitCount: v + 1 } },
    });
    if (res.status !== 200) throw new Error(`decide answered ${res.status}: ${await res.text()}`);
    const body = (await res.json()) as { decisions: { slot: string; decisionId: string; block: { id: string } }[] };
    for (const d of body.decisions) sent.decisions.push({ decisionId: d.decisionId, slot: d.slot, blockId: d.block.id, visitorId });
    const events = body.decisions.map((d) => ({ type: "impression", visitorId, decisionId: d.decisionId, blockId: d.block.id, slot: d.slot }));
    if (v % 3 === 0) events.push({ type: "click", visitorId, decisionId: body.decisions[0]!.decisionId, blockId: body.decisions[0]!.block.id, slot: "hero" });
    const conversion = v % 4 === 0 ? [{ type: "conversion", visitorId, value: 10 + v }] : [];
    const ev = await post("/v1/events", { consent: { analytics: true }, events: [...events, ...conversion] });
    if (ev.status !== 202) throw new Error(`events answered ${ev.status}: ${await ev.text()}`);
    sent.events += events.length + conversion.length;
    sent.conversionValue += conversion.reduce((s, c) => s + c.value, 0);
  }
  // Decisions and events reach the consumer through the queue after the answers, in batches of
  // their own: wait until the pipeline has stored every one of both (a busy machine delays the
  // events' batch past the decisions'), then flush until the lake's backlog is empty.
  const getJson = async <T>(path: string) => (await (await fetch(`${server.url}${path}`, { headers: ADMIN })).json()) as T;
  for (let i = 0; i < 600; i++) {
    const { stored } = await getJson<{ stored: { decisions: number; events: number } }>("/admin/pipeline");
    if (stored.decisions >= sent.decisions.length && stored.events >= sent.events) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  for (let i = 0; i < 50; i++) {
    const flush = await fetch(`${server.url}/admin/lake/flush`, { method: "POST", headers: ADMIN });
    expect(flush.status).toBe(200);
    const { backlog } = await getJson<{ backlog: { decisions: number; events: number } }>("/admin/lake");
    if (backlog.decisions === 0 && backlog.events === 0) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  duck = await (await DuckDBInstance.create(":memory:")).connect();
}, 180_000);

afterAll(async () => {
  duck?.closeSync();
  await server?.stop();
});

describe("the lake, read by DuckDB from the local R2 persistence", () => {
  it("holds every decision and event the Worker logged, with the admin API's values", async () => {
    const files = parquetBlobs(server.state);
    expect(files.length).toBeGreaterThanOrEqual(2);
    // Which table a file belongs to: its key-value metadata, as any Parquet tool shows it.
    const meta = await rows(`SELECT file_name, decode(value) AS tbl FROM parquet_kv_metadata(${list(files)}) WHERE decode(key) = 'nextbest.table'`);
    const decisionFiles = meta.filter((m) => m.tbl === "decisions").map((m) => m.file_name as string);
    const eventFiles = meta.filter((m) => m.tbl === "events").map((m) => m.file_name as string);
    expect(decisionFiles.length).toBeGreaterThan(0);
    expect(eventFiles.length).toBeGreaterThan(0);

    const decisions = `read_parquet(${list(decisionFiles)})`;
    const [count] = await rows(`SELECT COUNT(*) AS n, COUNT(DISTINCT decision_id) AS ids, MIN(schema_version) AS v FROM ${decisions}`);
    expect(count).toEqual({ n: String(sent.decisions.length), ids: String(sent.decisions.length), v: 1 });

    const api = (await (await fetch(`${server.url}/admin/decisions?limit=500`, { headers: ADMIN })).json()) as {
      decisions: { decisionId: string; time: number; slot: string; chosenBlockId: string; propensity: number | null; modelVersion: string | null; candidates: string[]; features: number[][]; visitorKey: string }[];
    };
    expect(api.decisions).toHaveLength(sent.decisions.length);
    for (const d of api.decisions.slice(0, 5)) {
      const [row] = await rows(
        `SELECT slot, chosen_block_id, propensity, model_version, visitor_key, epoch_ms(time) AS ms, len(candidates) AS n, candidates, ` +
          `len(features) AS nf, list_sum(features[1]) AS f1 FROM ${decisions} WHERE decision_id = '${d.decisionId}'`,
      );
      expect(row).toMatchObject({
        slot: d.slot,
        chosen_block_id: d.chosenBlockId,
        propensity: d.propensity,
        model_version: d.modelVersion,
        visitor_key: d.visitorKey,
        ms: String(d.time),
        n: String(d.candidates.length),
        candidates: d.candidates,
        nf: String(d.features.length),
      });
      // The lake holds the float32 values the model saw (worker/lake/schema.ts), widened to DOUBLE.
      if (d.features.length) expect(row!.f1).toBeCloseTo(d.features[0]!.reduce((s, x) => s + Math.fround(x), 0), 9);
      expect(sent.decisions.find((s) => s.decisionId === d.decisionId)?.blockId).toBe(d.chosenBlockId);
    }

    const events = `read_parquet(${list(eventFiles)})`;
    const [ev] = await rows(`SELECT COUNT(*) AS n, SUM(value) FILTER (WHERE type = 'conversion') AS value, COUNT(*) FILTER (WHERE type = 'impression') AS impressions FROM ${events}`);
    expect(ev).toEqual({ n: String(sent.events), value: sent.conversionValue, impressions: String(sent.decisions.length) });
    // Joined the way an analyst would: every impression names a decision in the lake.
    const [joined] = await rows(`SELECT COUNT(*) AS n FROM ${events} e JOIN ${decisions} d ON d.decision_id = e.decision_id WHERE e.type = 'impression'`);
    expect(joined).toEqual({ n: String(sent.decisions.length) });
  });

  it("GET /admin/lake reports nothing left to flush", async () => {
    const status = (await (await fetch(`${server.url}/admin/lake`, { headers: ADMIN })).json()) as Record<string, unknown>;
    expect(status).toMatchObject({ schemaVersion: 1, backlog: { decisions: 0, events: 0 }, files: { claimed: 0 }, rows: sent.decisions.length + sent.events });
  });
});
