/**
 * Bytes per decision with 50 candidates and 16 features, in D1 (database growth, indexes
 * included) and in the lake (Parquet, Snappy): the figures docs/lake.md and the README's capacity
 * table quote. Printed, and checked to stay in the range they were measured in.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { shortestFloat32 } from "../../worker/audit/float32.ts";
import type { AuditRecord } from "../../worker/audit/record.ts";
import { flushLake } from "../../worker/lake/flush.ts";
import { encodeLakeFile } from "../../worker/lake/parquet.ts";
import { d1Columns } from "../../worker/lake/schema.ts";
import { auditRecord, writeAudit } from "./audit-fixtures.ts";
import { lakeKeys, resetLake } from "./lake-fixtures.ts";

const DECISIONS = 1000;
const CANDIDATES = 50;
const FEATURES = 16;

/** mulberry32: a small seeded generator, so the measured data is the same every run. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A decision shaped like the default model's: 6 visitor/page features shared by all candidates,
 * 6 one-hot block attributes, 4 continuous interactions; scores; 50 of 300 blocks. Real values are
 * float32 (the model's tensors), logged as their shortest decimal (worker/audit/float32.ts).
 */
async function decision(i: number, rnd: () => number): Promise<AuditRecord> {
  const f32 = (x: number) => shortestFloat32(Math.fround(x));
  const context = Array.from({ length: 6 }, (_, k) => (k < 3 ? Math.floor(rnd() * 10) : f32(Math.round(rnd() * 1000) / 1000)));
  const start = Math.floor(rnd() * 250);
  const candidates = Array.from({ length: CANDIDATES }, (_, c) => `block-${String(start + c).padStart(3, "0")}-${["hero", "promo", "offer"][c % 3]}`);
  const features = candidates.map((_, c) => [
    ...context,
    ...Array.from({ length: 6 }, (_, k) => ((start + c + k) % 6 === 0 ? 1 : 0)),
    ...Array.from({ length: 4 }, () => f32(rnd())),
  ]);
  const scores = candidates.map(() => f32(rnd()));
  return auditRecord({
    decisionId: crypto.randomUUID(),
    visitorId: `size-v-${i % 400}`,
    time: Date.UTC(2026, 10, 30, 12) + i * 1000,
    candidates,
    featureNames: Array.from({ length: FEATURES }, (_, k) => `feature_${k}`),
    features,
    scores,
    chosenBlockId: candidates[0]!,
    shadows: [],
    excluded: [{ blockId: "block-999-hero", reason: "frequency_cap" }],
  });
}

describe("bytes per decision (50 candidates, 16 features)", () => {
  it("in D1 and in the Parquet lake", async () => {
    await resetLake();
    const rnd = seeded(13);
    const records = await Promise.all(Array.from({ length: DECISIONS }, (_, i) => decision(i, rnd)));
    const size = async () => (await env.DB.prepare("SELECT 1").run()).meta.size_after;
    const before = await size();
    for (let i = 0; i < records.length; i += 100) await writeAudit(records.slice(i, i + 100));
    const d1PerDecision = ((await size()) - before) / DECISIONS;

    const flushed = await flushLake(env.DB, env.LAKE, { now: Date.now(), maxRows: DECISIONS });
    expect(flushed.files.map((f) => f.rows)).toEqual([DECISIONS]);
    // The ledger's file key on every flushed row (and in its index) is part of D1's cost.
    const d1Flushed = ((await size()) - before) / DECISIONS;
    // Steady state: the pages the flush's row rewrites freed are reused by the next inserts.
    const records2 = await Promise.all(Array.from({ length: DECISIONS }, (_, i) => decision(DECISIONS + i, rnd)));
    const before2 = await size();
    for (let i = 0; i < records2.length; i += 100) await writeAudit(records2.slice(i, i + 100));
    await flushLake(env.DB, env.LAKE, { now: Date.now(), maxRows: DECISIONS });
    const d1Steady = ((await size()) - before2) / DECISIONS;
    const key = (await lakeKeys())[0];
    const parquetPerDecision = (await env.LAKE.head(key!))!.size / DECISIONS;
    // Smaller files of the same rows carry the footer and page headers over fewer decisions.
    const { results: first } = await env.DB.prepare(`SELECT ${d1Columns("decisions").join(", ")} FROM decisions ORDER BY time, decision_id LIMIT 100`).all<Record<string, unknown>>();
    const small = [1, 10, 100].map((n) => `${n} row${n > 1 ? "s" : ""} ${(encodeLakeFile("decisions", first.slice(0, n)).byteLength / n).toFixed(0)}`);
    console.log(
      `bytes per decision (50 candidates, 16 features): D1 ${d1PerDecision.toFixed(0)} (${d1Flushed.toFixed(0)} once flushed, ` +
        `${d1Steady.toFixed(0)} for the next 1000 inserted and flushed), Parquet ${parquetPerDecision.toFixed(0)} (files of ${small.join(", ")})`,
    );
    // The ranges the documented figures were measured in (docs/lake.md).
    expect(d1PerDecision).toBeGreaterThan(4_000);
    expect(d1PerDecision).toBeLessThan(10_000);
    expect(d1Steady).toBeLessThan(10_000);
    expect(parquetPerDecision).toBeLessThan(d1PerDecision / 2);
    await resetLake();
  });
});
