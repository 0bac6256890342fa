import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { rowToRecord, type DecisionRow } from "../../worker/audit/d1.ts";
import { d1EventStore } from "../../worker/events/store.ts";
import { flushLake, lakeBacklog } from "../../worker/lake/flush.ts";
import { parseKey } from "../../worker/lake/keys.ts";
import { LAKE_SCHEMA_VERSION } from "../../worker/lake/schema.ts";
import { auditRecord, writeAudit } from "./audit-fixtures.ts";
import { failingBucket, lakeKeys, readLakeObject, resetLake } from "./lake-fixtures.ts";

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 10, 29, 22, 0, 0); // 22:00 UTC: three hours cross a day boundary
const NOW = T0 + 5 * HOUR;
const DECISIONS = 900;
const EVENTS = 700;

/** 900 decisions over three hours (several per millisecond) and 700 events over the same hours. */
async function seed(): Promise<void> {
  const records = [];
  for (let i = 0; i < DECISIONS; i++) {
    records.push(
      await auditRecord({
        decisionId: `lk-${String(i).padStart(4, "0")}`,
        visitorId: `lk-v-${i % 11}`,
        time: T0 + Math.floor(i / 3) * 36_000,
        propensity: i % 5 === 0 ? null : 0.9,
        page: i % 4 === 0 ? null : "https://shop.example/p.html",
      }),
    );
  }
  await writeAudit(records);
  const events = Array.from({ length: EVENTS }, (_, i) => ({
    id: `lk-e-${i}`,
    time: T0 + i * 15_000,
    type: i % 2 ? ("click" as const) : ("impression" as const),
    name: null,
    decisionId: `lk-${String(i % DECISIONS).padStart(4, "0")}`,
    visitorKey: "0".repeat(32),
    blockId: "hero-default",
    slot: "hero",
    value: i % 7 === 0 ? i / 4 : null,
    currency: i % 7 === 0 ? "EUR" : null,
  }));
  for (let i = 0; i < events.length; i += 100) await d1EventStore(env.DB).insert(events.slice(i, i + 100));
}

/** Reads every lake file back: id → (key, row) for both tables, failing on any row seen twice. */
async function readAll(): Promise<{ decisions: Map<string, string>; events: Map<string, string> }> {
  const out = { decisions: new Map<string, string>(), events: new Map<string, string>() };
  for (const key of await lakeKeys()) {
    const parsed = parseKey(key);
    expect(parsed, key).not.toBeNull();
    const idCol = parsed!.table === "decisions" ? "decision_id" : "id";
    for (const row of await readLakeObject(key, [idCol, "time", "schema_version"])) {
      const id = row[idCol] as string;
      expect(out[parsed!.table].has(id), `${id} in ${key} and ${out[parsed!.table].get(id)}`).toBe(false);
      out[parsed!.table].set(id, key);
      // Partitioned by the row's own hour.
      expect(Math.floor((row.time as number) / HOUR) * HOUR).toBe(parsed!.hour);
      expect(row.schema_version).toBe(LAKE_SCHEMA_VERSION);
    }
  }
  return out;
}

beforeEach(async () => {
  await resetLake();
  await seed();
});

describe("flushLake", () => {
  it("writes every decision and event exactly once, one hour per file, and then has nothing left", async () => {
    const result = await flushLake(env.DB, env.LAKE, { now: NOW, maxRows: 200 });
    expect(result.more).toBe(false);
    const all = await readAll();
    expect(all.decisions.size).toBe(DECISIONS);
    expect(all.events.size).toBe(EVENTS);
    expect(result.files.reduce((n, f) => n + f.rows, 0)).toBe(DECISIONS + EVENTS);
    expect(await lakeBacklog(env.DB)).toEqual({ decisions: 0, events: 0 });
    // Keys carry the partition of the rows' hour, across the day boundary.
    expect(result.files.map((f) => f.key).some((k) => k.startsWith("lake/decisions/dt=2026-11-29/hour=22/"))).toBe(true);
    expect(result.files.map((f) => f.key).some((k) => k.startsWith("lake/decisions/dt=2026-11-30/hour=00/"))).toBe(true);
    expect((await flushLake(env.DB, env.LAKE, { now: NOW + 1 })).files).toEqual([]);
  });

  it.each([
    { mode: "before" as const, failOnPut: 3 },
    { mode: "after" as const, failOnPut: 3 },
    { mode: "after" as const, failOnPut: 7 },
  ])("a bucket failing put $failOnPut ($mode storing) loses and duplicates nothing on the next run", async ({ mode, failOnPut }) => {
    const flaky = failingBucket(env.LAKE, failOnPut, mode);
    await expect(flushLake(env.DB, flaky, { now: NOW, maxRows: 150 })).rejects.toThrow(/injected R2 failure/);
    expect((await lakeBacklog(env.DB)).decisions + (await lakeBacklog(env.DB)).events).toBeGreaterThan(0);

    const second = await flushLake(env.DB, flaky, { now: NOW + 60_000, maxRows: 150 });
    // The interrupted file is finished first, under the same key, with the same bytes.
    expect(second.files[0]).toMatchObject({ key: flaky.failed!.key, resumed: true });
    const stored = await env.LAKE.get(flaky.failed!.key);
    expect(new Uint8Array(await stored!.arrayBuffer())).toEqual(new Uint8Array(flaky.failed!.bytes));

    const all = await readAll();
    expect(all.decisions.size).toBe(DECISIONS);
    expect(all.events.size).toBe(EVENTS);
    expect(await lakeBacklog(env.DB)).toEqual({ decisions: 0, events: 0 });
    const ledger = await env.DB.prepare("SELECT COUNT(*) AS files, SUM(rows) AS rows FROM lake_files WHERE written_at IS NOT NULL").first<{ files: number; rows: number }>();
    expect(ledger).toEqual({ files: (await lakeKeys()).length, rows: DECISIONS + EVENTS });
  });

  it("stops after maxFiles and the next call goes on where it stopped", async () => {
    const first = await flushLake(env.DB, env.LAKE, { now: NOW, maxRows: 100, maxFiles: 4 });
    expect(first).toMatchObject({ more: true });
    expect(first.files).toHaveLength(4);
    let calls = 1;
    while ((await flushLake(env.DB, env.LAKE, { now: NOW + calls, maxRows: 100, maxFiles: 4 })).more) calls++;
    const all = await readAll();
    expect([all.decisions.size, all.events.size]).toEqual([DECISIONS, EVENTS]);
  });

  it("stores every field of a decision as the D1 row has it", async () => {
    await flushLake(env.DB, env.LAKE, { now: NOW });
    const all = await readAll();
    const rows = await env.DB.prepare("SELECT * FROM decisions WHERE decision_id IN ('lk-0000', 'lk-0001')").all<DecisionRow>();
    for (const d1 of rows.results) {
      const lake = (await readLakeObject(all.decisions.get(d1.decision_id)!)).find((r) => r.decision_id === d1.decision_id)!;
      const record = rowToRecord(d1);
      expect(lake).toMatchObject({
        decision_id: record.decisionId,
        time: record.time,
        visitor_key: record.visitorKey,
        page: record.page,
        consent_personalization: true,
        candidates: record.candidates,
        feature_names: record.featureNames,
        // Features and scores as the float32 values the model saw (worker/lake/schema.ts).
        features: record.features.map((row) => row.map((x) => Math.fround(x))),
        scores: record.scores.map((x) => Math.fround(x)),
        propensity: record.propensity,
        holdout: false,
        holdout_scope: null,
        campaign: record.campaign,
        model_version: record.modelVersion,
        arm: record.arm,
        latency_ms: record.latencyMs,
      });
      expect(JSON.parse(lake.excluded as string)).toEqual(record.excluded);
      expect(JSON.parse(lake.shadows as string)).toEqual(record.shadows);
    }
  });

  it("writes the same bytes for the same rows, and no file for a claim whose rows were all erased", async () => {
    const flaky = failingBucket(env.LAKE, 1, "before");
    await expect(flushLake(env.DB, flaky, { now: NOW, maxRows: 50 })).rejects.toThrow();
    const key = flaky.failed!.key;
    // Erasure removes the claimed rows before the rewrite: the claim ends without a file.
    await env.DB.prepare("DELETE FROM decisions WHERE lake_file = ?").bind(key).run();
    const next = await flushLake(env.DB, env.LAKE, { now: NOW });
    expect(next.files[0]).toMatchObject({ key, rows: 0 });
    expect(await env.LAKE.head(key)).toBeNull();
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM lake_files WHERE key = ?").bind(key).first("n")).toBe(0);
    expect((await readAll()).decisions.size).toBe(DECISIONS - 50);
  });
});
