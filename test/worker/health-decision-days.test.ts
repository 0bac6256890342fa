// Decisions per day for the console's overview: GET /admin/health → decisions.days, read from
// agg_decision_health (the fold of the queue consumer).
import { beforeEach, describe, expect, it } from "vitest";
import { decisionDays } from "../../worker/health/decision-days.ts";
import { admin, db, health, NOW, resetGovernance } from "./incidents-helpers.ts";

beforeEach(resetGovernance);

describe("decisions per day", () => {
  it("counts each of the last 14 UTC days by reason, oldest first, with the personalised share", async () => {
    await health("2031-03-12", [["ranked", "", 70], ["holdout", "", 10], ["fallback", "ranking_error", 20]]);
    await health("2031-03-10", [["default", "", 5]]);
    await health("2031-02-26", [["ranked", "", 999]]); // 14 days before: outside the window
    const days = await decisionDays(db, NOW);
    expect(days).toHaveLength(14);
    expect(days[0]!.day).toBe("2031-02-27");
    expect(days[13]).toEqual({ day: "2031-03-12", decisions: 100, personalised: 70, personalisedShare: 0.7, byReason: { ranked: 70, holdout: 10, fallback: 20, default: 0 } });
    expect(days[11]).toMatchObject({ day: "2031-03-10", decisions: 5, personalised: 0, personalisedShare: 0 });
    expect(days[12]).toMatchObject({ day: "2031-03-11", decisions: 0, personalisedShare: null });
    expect(days.reduce((a, d) => a + d.decisions, 0)).toBe(105);
  });

  it("GET /admin/health answers them as decisions.days", async () => {
    const before = new Date().toISOString().slice(0, 10);
    const res = await admin("/admin/health");
    const after = new Date().toISOString().slice(0, 10);
    expect(res.status).toBe(200);
    const body = await res.json<{ decisions: { days: Array<{ day: string; decisions: number }> } }>();
    expect(body.decisions.days).toHaveLength(14);
    expect([before, after]).toContain(body.decisions.days[13]!.day);
  });
});
