import { describe, expect, it } from "vitest";
import { batchTotals, foldStatements, jsonPieces, perDecisionSql, totalsSql } from "../../worker/aggregates/drift-fold.ts";

const features = { table: "agg_features", keys: ["day", "model", "feature"], values: ["n", "sum", "sum_sq"] };

describe("drift fold", () => {
  it("sums per-decision rows per key, the decision id dropped, in first-seen order", () => {
    const rows = [
      ["d1", "2026-12-01", "m@1", "x", 50, 2.5, 0.25],
      ["d1", "2026-12-01", "m@1", "y", 50, 10, 4],
      ["d2", "2026-12-01", "m@1", "x", 50, 1.5, 0.5],
      ["d3", "2026-12-02", "m@1", "x", 10, 1, 1],
    ] as const;
    expect(batchTotals(features, rows)).toEqual([
      ["2026-12-01", "m@1", "x", 100, 4, 0.75],
      ["2026-12-01", "m@1", "y", 50, 10, 4],
      ["2026-12-02", "m@1", "x", 10, 1, 1],
    ]);
    expect(batchTotals(features, [])).toEqual([]);
  });

  it.each([
    { xs: [0.1, 0.2, 0.3], sum: 0.6 },
    { xs: [1e16, 1, -1e16], sum: 1 },
    { xs: [0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1], sum: 1 },
  ])("sums $xs compensated, as SQLite's SUM does: $sum", ({ xs, sum }) => {
    const table = { table: "t", keys: ["k"], values: ["x"] };
    expect(batchTotals(table, xs.map((x, i) => [`d${i}`, "k", x] as const))).toEqual([["k", sum]]);
  });

  it("leaves the rows it sums unchanged", () => {
    const row = ["d1", "2026-12-01", "m@1", "x", 1, 2, 3] as const;
    const rows = [row, ["d2", "2026-12-01", "m@1", "x", 1, 2, 3] as const];
    batchTotals(features, rows);
    expect(row).toEqual(["d1", "2026-12-01", "m@1", "x", 1, 2, 3]);
  });

  it("guards the two inserts with opposite conditions on the same count, so one of them folds", () => {
    const totals = totalsSql(features);
    const perDecision = perDecisionSql(features);
    const guard = "((SELECT COUNT(*) FROM decisions n WHERE n.agg_applied = 0 AND n.decision_id IN (SELECT value FROM json_each(?1))) = ?3)";
    expect(totals).toContain(`WHERE ${guard}`);
    expect(perDecision).toContain(`AND NOT ${guard}`);
    expect(perDecision).toContain("GROUP BY 1, 2, 3");
    for (const sql of [totals, perDecision]) expect(sql).toContain("ON CONFLICT DO UPDATE SET n = n + excluded.n, sum = sum + excluded.sum, sum_sq = sum_sq + excluded.sum_sq");
  });

  it("splits JSON rows into pieces under D1's string limit, in order, a longer row alone", () => {
    const rows = Array.from({ length: 100 }, (_, i) => [`d${i}`, "2026-12-01", "m@1", `feature_${i % 7}`, i, i / 3, i * i]);
    const pieces = jsonPieces(rows, 500);
    expect(pieces.length).toBeGreaterThan(5);
    for (const piece of pieces) expect(piece.length).toBeLessThanOrEqual(500);
    expect(pieces.flatMap((p) => JSON.parse(p))).toEqual(rows);
    expect(jsonPieces(rows)).toEqual([JSON.stringify(rows)]);
    expect(jsonPieces([])).toEqual([]);
    // Outside ASCII a character may take three bytes: counted so.
    expect(jsonPieces([["é".repeat(100)], ["é".repeat(100)]], 500)).toHaveLength(2);
    const long = ["x".repeat(600)];
    expect(jsonPieces([[1], long, [2]], 500)).toEqual(["[[1]]", JSON.stringify([long]), "[[2]]"]);
  });

  it("binds every piece to its own statement with the same guard arguments", () => {
    const bound: unknown[][] = [];
    const prepare = (sql: string, ...args: unknown[]) => (bound.push([sql === totalsSql(features) ? "totals" : "per-decision", ...args]), {}) as D1PreparedStatement;
    const rows = Array.from({ length: 30_000 }, (_, i) => [`decision-${i}`, "2026-12-01", "m@1", `feature_${i % 16}`, 50, i / 7, i / 3] as const);
    const statements = foldStatements(prepare, features, rows, '["ids"]', 30_000);
    const perDecision = bound.filter((b) => b[0] === "per-decision");
    expect(perDecision.length).toBeGreaterThan(1);
    expect(statements).toHaveLength(bound.length);
    for (const b of bound) expect([b[1], b[3]]).toEqual(['["ids"]', 30_000]);
    expect(perDecision.flatMap((b) => JSON.parse(b[2] as string))).toEqual(rows);
  });
});
