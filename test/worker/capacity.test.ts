/**
 * D1 bytes per decision for the README's capacity table: decisions as decide logs them with 50
 * candidates × 16 features (12 indicator features, 4 real-valued, float32 scores), with and without
 * the aggregate rows folded from them. Sizes are SQLite's database size (D1 `meta.size_after`),
 * so they include indexes and page slack. The figures are printed; the test checks the shape.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { aggregateStatements } from "../../worker/aggregates/statements.ts";
import { d1AuditSink } from "../../worker/audit/d1.ts";
import { shortestFloat32 } from "../../worker/audit/float32.ts";
import { auditRecord } from "./audit-fixtures.ts";
import { seeded } from "./aggregates-data.ts";

const db = env.DB;
const DAY0 = Date.UTC(2026, 2, 9);
const DECISIONS = 1000;
const VISITORS = 250;

const size = async () => (await db.prepare("SELECT 1").run()).meta.size_after ?? 0;

async function decisions(rnd: () => number) {
  const names = Array.from({ length: 16 }, (_, j) => `feature_${j}`);
  const records = [];
  for (let i = 0; i < DECISIONS; i++) {
    const candidates = Array.from({ length: 50 }, (_, c) => `block-${String(c).padStart(3, "0")}-promo`);
    records.push(
      await auditRecord({
        decisionId: `capacity-${i}`,
        visitorId: `capacity-v${i % VISITORS}`,
        time: DAY0 + i * 60_000,
        slot: i % 2 ? "hero" : "sidebar",
        candidates,
        chosenBlockId: candidates[i % 50]!,
        featureNames: names,
        // float32 values, logged as their shortest decimal as decide logs them (worker/audit/float32.ts).
        features: candidates.map(() => names.map((_, j) => (j < 12 ? (rnd() < 0.3 ? 1 : 0) : shortestFloat32(Math.fround(rnd() * 3))))),
        scores: candidates.map(() => shortestFloat32(Math.fround(rnd()))),
        excluded: [],
        shadows: [],
      }),
    );
  }
  return records;
}

describe("capacity", () => {
  it("measures D1 bytes per decision (50 candidates × 16 features) and per aggregate row", async () => {
    const records = await decisions(seeded(9));
    const start = await size();
    for (let i = 0; i < records.length; i += 50) await d1AuditSink(db).write(records.slice(i, i + 50));
    const raw = await size();
    for (let i = 0; i < records.length; i += 50) {
      await db.batch(aggregateStatements(db, { decisionIds: records.slice(i, i + 50).map((r) => r.decisionId), eventIds: [], decisions: records.slice(i, i + 50) }));
    }
    const folded = await size();
    const rows = await db.batch<{ n: number }>(
      ["agg_daily", "agg_exposures", "agg_scores", "agg_features"].map((t) => db.prepare(`SELECT COUNT(*) AS n FROM ${t} WHERE day = '2026-03-09'`)),
    );
    const aggregateRows = rows.reduce((n, r) => n + r.results[0]!.n, 0);
    const perDecision = (raw - start) / DECISIONS;
    const jsonBytes = JSON.stringify(records[0]).length;
    console.log(JSON.stringify({ decisions: DECISIONS, bytesPerDecision: Math.round(perDecision), jsonBytesPerRecord: jsonBytes, aggregateBytes: folded - raw, aggregateRows }));
    // A row holds its JSON text plus indexes: within a factor of the record's JSON size.
    expect(perDecision).toBeGreaterThan(jsonBytes * 0.5);
    expect(perDecision).toBeLessThan(jsonBytes * 3);
    // One day of 1,000 decisions over 250 visitors and 2 slots: aggregate rows grow with visitors.
    expect(aggregateRows).toBeLessThan(DECISIONS);
    await db.batch([
      db.prepare("DELETE FROM decisions WHERE decision_id LIKE 'capacity-%'"),
      ...["agg_daily", "agg_exposures", "agg_scores", "agg_features"].map((t) => db.prepare(`DELETE FROM ${t} WHERE day = '2026-03-09'`)),
    ]);
  });
});
