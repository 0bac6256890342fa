import { describe, expect, it } from "vitest";
import { batchTotals, perDecisionSql, totalsSql } from "../../worker/aggregates/drift-fold.ts";

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
});
