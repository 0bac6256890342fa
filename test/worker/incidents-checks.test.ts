// The operational checks open the right incident on crafted aggregates and resolve it when the
// condition clears; no finding, no incident.
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { runGovernance } from "../../worker/incidents/governance.ts";
import { DAYS_BEFORE, NOW, TODAY, db, deadLetters, eligibility, exposures, health, resetGovernance } from "./incidents-helpers.ts";

type Row = { kind: string; subject: string; severity: string; state: string; figures: string; updated_by: string };
const incidents = async () => (await db.prepare("SELECT kind, subject, severity, state, figures, updated_by FROM incidents ORDER BY id").all<Row>()).results;
const run = (now = NOW) => runGovernance(env, now);

beforeEach(resetGovernance);

describe("no finding, no incident", () => {
  it("a quiet day of healthy aggregates opens nothing", async () => {
    await health(TODAY, [["ranked", "", 1000], ["fallback", "visitor_state", 10], ["holdout", "", 50]]);
    for (const day of [...DAYS_BEFORE, TODAY]) await eligibility(day, 900, { consent: 50, condition: 40, cap_block: 10 });
    await exposures(TODAY, "universal", 190, 10);
    const result = await run();
    expect(result.changes).toEqual([]);
    expect(result.kinds).toEqual(expect.arrayContaining(["ops.fallback_rate", "ops.latency_budget", "ops.model_load", "ops.dead_letters", "ops.exclusion_rate", "ops.caps_hit_rate", "ops.srm", "ops.kill_switch"]));
    expect(await incidents()).toEqual([]);
  });
});

describe.each([
  {
    name: "fallback rate",
    kind: "ops.fallback_rate",
    subject: "all",
    severity: "alert",
    bad: () => health(TODAY, [["ranked", "", 700], ["fallback", "ranking_error", 300]]),
    figures: { decisions: 1000, fallback: 300, rate: 0.3 },
  },
  {
    name: "latency-budget misses",
    kind: "ops.latency_budget",
    subject: "all",
    severity: "warn",
    bad: () => health(TODAY, [["ranked", "", 980], ["fallback", "latency_budget", 15], ["fallback", "cold_start_budget", 5]]),
    figures: { decisions: 1000, missed: 20, rate: 0.02 },
  },
  {
    name: "model load failures",
    kind: "ops.model_load",
    subject: "all",
    severity: "alert",
    bad: () => health(TODAY, [["ranked", "", 988], ["fallback", "model_load", 12]]),
    figures: { failures: 12 },
  },
  { name: "dead letters", kind: "ops.dead_letters", subject: "nextbest-log", severity: "warn", bad: () => deadLetters(NOW - 3_600_000, 3), figures: { letters: 3, records: 9 } },
  {
    name: "a consent rule suddenly excluding every candidate",
    kind: "ops.exclusion_rate",
    subject: "consent",
    severity: "alert",
    bad: async () => {
      for (const day of DAYS_BEFORE) await eligibility(day, 900, { consent: 100 });
      await eligibility(TODAY, 0, { consent: 1000 });
    },
    figures: { considered: 1000, excluded: 1000, rate: 1, baseline: 0.1 },
  },
  {
    name: "a condition rule jumping by 0.3",
    kind: "ops.exclusion_rate",
    subject: "condition",
    severity: "warn",
    bad: async () => {
      for (const day of DAYS_BEFORE) await eligibility(day, 900, { condition: 100 });
      await eligibility(TODAY, 600, { condition: 400 });
    },
    figures: { rate: 0.4, baseline: 0.1 },
  },
  {
    name: "caps hit rate",
    kind: "ops.caps_hit_rate",
    subject: "caps",
    severity: "alert",
    bad: () => eligibility(TODAY, 100, { cap_block: 500, cap_campaign: 300, cap_global: 100 }),
    figures: { considered: 1000, capped: 900, rate: 0.9 },
  },
  {
    // 5% configured (HOLDOUT_RATE), 20% observed: χ² = (160−190)²/190 + (40−10)²/10 = 94.74.
    name: "sample-ratio mismatch of the universal control group",
    kind: "ops.srm",
    subject: "universal",
    severity: "alert",
    bad: () => exposures(TODAY, "universal", 160, 40),
    figures: { treatment: 160, control: 40, expectedControlShare: 0.05, observedControlShare: 0.2, chiSquare: 94.7368 },
  },
])("$name", ({ kind, subject, severity, bad, figures }) => {
  it(`opens ${kind} [${subject}] as ${severity} and resolves it when the condition clears`, async () => {
    await bad();
    const opened = await run();
    expect(opened.changes.map((c) => [c.change, c.incident.kind, c.incident.subject, c.incident.severity])).toEqual([["opened", kind, subject, severity]]);
    const [row] = await incidents();
    expect(row).toMatchObject({ kind, subject, severity, state: "open", updated_by: "system" });
    expect(JSON.parse(row!.figures)).toMatchObject(figures);
    // Found again: the same incident, no new change.
    expect((await run(NOW + 300_000)).changes).toEqual([]);
    expect(await incidents()).toHaveLength(1);
    // The condition clears (the aggregates of the window are healthy again).
    await resetGovernanceAggregates();
    const cleared = await run(NOW + 600_000);
    expect(cleared.changes.map((c) => [c.change, c.actor, c.incident.state])).toEqual([["resolved", "system", "resolved"]]);
    expect((await incidents())[0]).toMatchObject({ state: "resolved" });
  });
});

/** Removes the crafted aggregates but keeps the incidents. */
async function resetGovernanceAggregates() {
  await db.batch([
    db.prepare("DELETE FROM agg_decision_health WHERE day >= '2031-01-01'"),
    db.prepare("DELETE FROM agg_eligibility WHERE day >= '2031-01-01'"),
    db.prepare("DELETE FROM agg_exposures WHERE day >= '2031-01-01'"),
    db.prepare("DELETE FROM dead_letters WHERE time >= ?").bind(Date.UTC(2031, 0, 1)),
  ]);
}

describe("severity and sources", () => {
  it("a warn that becomes an alert is one change (escalated), the incident stays the same", async () => {
    await health(TODAY, [["ranked", "", 900], ["fallback", "ranking_error", 100]]);
    expect((await run()).changes.map((c) => [c.change, c.incident.severity])).toEqual([["opened", "warn"]]);
    await health(TODAY, [["fallback", "visitor_state", 300]]); // 400 of 1,300: above the alert threshold
    const escalated = await run(NOW + 300_000);
    expect(escalated.changes.map((c) => [c.change, c.incident.severity, c.incident.state])).toEqual([["escalated", "alert", "open"]]);
    expect(await incidents()).toHaveLength(1);
  });

  it("the SRM p-value is the chi-square survival function (df 1) of the statistic", async () => {
    await exposures(TODAY, "universal", 160, 40);
    const { changes } = await run();
    const f = changes[0]!.incident.figures;
    // Reference, computed independently: P(χ²₁ > x) = erfc(√(x/2)); Python's math.erfc(√(94.7368…/2))
    // = 2.1745410845310844e-22 (R: pchisq(94.7368, 1, lower.tail = FALSE)).
    expect((f.pValue as number) / 2.1745410845310844e-22).toBeCloseTo(1, 6);
  });

  it("a source that did not check a kind resolves none of its incidents", async () => {
    const drift = async () => ({ kinds: ["drift.feature"], findings: [{ kind: "drift.feature", subject: "m@1:price", severity: "warn" as const, figures: { psi: 0.15 } }] });
    await runGovernance(env, NOW, [drift]);
    // The drift source fails on the next run: its incident stays open.
    await runGovernance(env, NOW + 300_000, [async () => Promise.reject(new Error("drift store down"))]);
    expect((await incidents()).map((i) => [i.kind, i.state])).toEqual([["drift.feature", "open"]]);
    // It runs and no longer finds it: resolved.
    await runGovernance(env, NOW + 600_000, [async () => ({ kinds: ["drift.feature"], findings: [] })]);
    expect((await incidents()).map((i) => [i.kind, i.state])).toEqual([["drift.feature", "resolved"]]);
  });
});
