// Drift monitoring end to end in workerd: decisions and events go through the real log consumer
// (the production aggregate folds, binned by the manifest's baseline), computeDrift writes the
// series from the aggregates, driftFindings reads it, GET /admin/drift answers.
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { DAY_MS, utcDay } from "../../worker/aggregates/sql.ts";
import { histogramOf, scoreHistogramOf } from "../../worker/drift/baseline.ts";
import { computeDrift } from "../../worker/drift/compute.ts";
import { driftFindings, driftSource } from "../../worker/drift/findings.ts";
import { readSeries } from "../../worker/drift/series.ts";
import { DEFAULT_DRIFT_THRESHOLDS } from "../../worker/drift/thresholds.ts";
import type { Finding } from "../../worker/incidents/finding.ts";
import { runGovernance } from "../../worker/incidents/governance.ts";
import { builtinId } from "../../worker/models/builtin.ts";
import { receiver } from "./incidents-helpers.ts";
import { ADMIN } from "./audit-fixtures.ts";
import { deliver, FEATURES, simulateDay, trainingSample } from "./drift-sim.ts";
import { call } from "./helpers.ts";

const db = env.DB;
const PER_DAY = 600;
const SHIFTED = "drift-sim@aaaaaaaaaaaa";
const STEADY = "drift-steady@bbbbbbbbbbbb";
// UTC midnights no other test file writes to.
const SHIFT_DAY0 = Date.UTC(2031, 2, 1);
const STEADY_DAY0 = Date.UTC(2031, 5, 1);
const FEATURE_SHIFT_DAY = 10;
const CLICK_DROP_DAY = 13;
const SHIFT_DAYS = 15;
const STEADY_DAYS = 30;
const noon = (day0: number, k: number) => day0 + k * DAY_MS + DAY_MS / 2;

/** Registers SHIFTED with a manifest whose baseline has training histograms for three of the four features and the score. */
async function registerModel(): Promise<void> {
  const { columns, scores } = trainingSample(99, 20_000);
  const histograms = Object.fromEntries(FEATURES.slice(0, 3).map((f, j) => [f, histogramOf(columns[j]!)]));
  const mean = columns.map((c) => c.reduce((a, b) => a + b, 0) / c.length);
  const manifest = { version: 1, name: "drift-sim", features: [...FEATURES], output: "probability", baseline: { mean, std: mean.map(() => 1), histograms, scores: scoreHistogramOf(scores) } };
  await db
    .prepare("INSERT OR REPLACE INTO models (id, name, version, size_bytes, manifest, report, uploaded_by, uploaded_at) VALUES (?, ?, ?, 0, ?, '{}', 'test', 0)")
    .bind("drift-sim-model-id", "drift-sim", SHIFTED, JSON.stringify(manifest))
    .run();
}

async function reset(): Promise<void> {
  const tables = ["agg_feature_bins", "agg_score_bins", "agg_scores", "agg_features", "agg_calibration", "agg_daily", "drift_series"];
  await db.batch([
    ...tables.map((t) => db.prepare(`DELETE FROM ${t} WHERE model IN (?, ?)`).bind(SHIFTED, STEADY)),
    db.prepare("DELETE FROM decisions WHERE decision_id LIKE 'driftsim-%' OR decision_id LIKE 'driftsteady-%'"),
    db.prepare("DELETE FROM events WHERE id LIKE 'driftsim-%' OR id LIKE 'driftsteady-%'"),
  ]);
}

const findingsByDay: { day: number; findings: Finding[] }[] = [];

beforeAll(async () => {
  await reset();
  await registerModel();
  // The shifted model, day by day as the cron would see it: consumer, then computeDrift and the findings at the end of the day.
  for (let k = 0; k < SHIFT_DAYS; k++) {
    const day0 = SHIFT_DAY0 + k * DAY_MS;
    const shift = { scrollShift: k >= FEATURE_SHIFT_DAY, clickFactor: k >= CLICK_DROP_DAY ? 0.3 : 1 };
    const { decisions, events } = await simulateDay({ prefix: "driftsim", model: SHIFTED, day0, perDay: PER_DAY, seed: 1000 + k, shift });
    await deliver(decisions, events, day0 + DAY_MS - 1);
    const now = day0 + DAY_MS - 60_000;
    await computeDrift(db, now);
    findingsByDay.push({ day: k, findings: (await driftFindings(db, now)).findings.filter((f) => f.model === SHIFTED) });
  }
  // The steady model (not in the registry: first-day baseline), 30 days without any shift.
  for (let k = 0; k < STEADY_DAYS; k++) {
    const day0 = STEADY_DAY0 + k * DAY_MS;
    const { decisions, events } = await simulateDay({ prefix: "driftsteady", model: STEADY, day0, perDay: PER_DAY, seed: 5000 + k });
    await deliver(decisions, events, day0 + DAY_MS - 1);
  }
  await computeDrift(db, noon(STEADY_DAY0, STEADY_DAYS - 1), { from: utcDay(STEADY_DAY0) });
}, 600_000);

describe("a simulated shift through the consumer", () => {
  it("folds each decision's features once, binned by the manifest's edges", async () => {
    const row = await db.prepare("SELECT SUM(n) AS n FROM agg_feature_bins WHERE model = ? AND feature = 'scroll_depth'").bind(SHIFTED).first<number>("n");
    expect(row).toBe(PER_DAY * SHIFT_DAYS * 4);
    // Deciles of the training values: 10 bins, none empty before the shift.
    const bins = await db.prepare("SELECT COUNT(DISTINCT bin) AS n FROM agg_feature_bins WHERE model = ? AND feature = 'scroll_depth' AND day = ?").bind(SHIFTED, utcDay(SHIFT_DAY0)).first<number>("n");
    expect(bins).toBe(10);
    // Redelivering a day changes nothing.
    const again = await simulateDay({ prefix: "driftsim", model: SHIFTED, day0: SHIFT_DAY0, perDay: PER_DAY, seed: 1000 });
    await deliver(again.decisions, again.events, SHIFT_DAY0 + DAY_MS);
    expect(await db.prepare("SELECT SUM(n) AS n FROM agg_feature_bins WHERE model = ? AND feature = 'scroll_depth'").bind(SHIFTED).first<number>("n")).toBe(PER_DAY * SHIFT_DAYS * 4);
  });

  it("the PSI crosses the threshold on the shifted feature on the day it moved, and on no other feature", async () => {
    const series = await readSeries(db, { from: utcDay(SHIFT_DAY0), to: utcDay(SHIFT_DAY0 + (SHIFT_DAYS - 1) * DAY_MS), model: SHIFTED });
    const features = series.filter((p) => p.kind === "feature");
    expect(new Set(features.map((p) => p.subject))).toEqual(new Set(FEATURES));
    for (const p of features) {
      const k = (Date.parse(`${p.day}T00:00:00Z`) - SHIFT_DAY0) / DAY_MS;
      const shifted = p.subject === "scroll_depth" && k >= FEATURE_SHIFT_DAY;
      expect({ feature: p.subject, k, status: p.status }).toEqual({ feature: p.subject, k, status: shifted ? "alert" : "ok" });
      if (!shifted) expect(p.value!).toBeLessThan(DEFAULT_DRIFT_THRESHOLDS.psiWarn);
      expect(p.baseline).toBe(p.subject === "block_priority" ? "first_day" : "manifest");
      expect(p.figures.js).toBeGreaterThanOrEqual(0);
    }
    const first = findingsByDay.find((d) => d.findings.some((f) => f.kind === "drift.feature"));
    expect(first?.day).toBe(FEATURE_SHIFT_DAY);
    expect(first!.findings.filter((f) => f.kind === "drift.feature")).toEqual([
      expect.objectContaining({ kind: "drift.feature", subject: `${SHIFTED}/scroll_depth`, severity: "alert", model: SHIFTED, figures: expect.objectContaining({ baseline: "manifest", psi: expect.any(Number) }) }),
    ]);
  });

  it("then the click rate drops: an outcome drift finding on that day, none before", async () => {
    const firstOutcome = findingsByDay.find((d) => d.findings.some((f) => f.kind === "drift.outcome"));
    expect(firstOutcome?.day).toBe(CLICK_DROP_DAY);
    const f = firstOutcome!.findings.find((x) => x.kind === "drift.outcome")!;
    expect(f).toMatchObject({ subject: `${SHIFTED}/click`, severity: "alert", model: SHIFTED });
    expect(f.figures.relativeChange as number).toBeLessThan(-0.5);
    expect(f.figures.pValue as number).toBeLessThan(1e-4);
    expect(f.figures.trailingDays).toBe(CLICK_DROP_DAY);
    // The served scores no longer match what happens: calibration drift follows the drop.
    expect(firstOutcome!.findings.some((x) => x.kind === "drift.calibration" && x.subject === `${SHIFTED}/click`)).toBe(true);
    // Before the drop, no outcome or calibration finding; before the feature shift, none at all.
    for (const d of findingsByDay.filter((x) => x.day < CLICK_DROP_DAY)) {
      expect(d.findings.filter((x) => x.kind === "drift.outcome" || x.kind === "drift.calibration")).toEqual([]);
      if (d.day < FEATURE_SHIFT_DAY) expect(d.findings).toEqual([]);
    }
  });

  it("recomputing is idempotent", async () => {
    const before = await readSeries(db, { from: utcDay(SHIFT_DAY0), to: utcDay(SHIFT_DAY0 + 20 * DAY_MS), model: SHIFTED });
    await computeDrift(db, noon(SHIFT_DAY0, SHIFT_DAYS - 1), { from: utcDay(SHIFT_DAY0) });
    expect(await readSeries(db, { from: utcDay(SHIFT_DAY0), to: utcDay(SHIFT_DAY0 + 20 * DAY_MS), model: SHIFTED })).toEqual(before);
  });
});

describe("drift in the governance run", () => {
  it("the shift opens drift incidents on the right subjects, one webhook per change, none when nothing changes", async () => {
    await db.batch(["incidents", "incident_changes", "alert_deliveries", "alert_attempts"].map((t) => db.prepare(`DELETE FROM ${t}`)));
    const hook = receiver();
    const withHook = { ...env, ALERT_WEBHOOK_ALERT: "http://127.0.0.1:9911/alert", ALERT_WEBHOOK_ALERT_FORMAT: "generic" } as Env;
    const now = SHIFT_DAY0 + SHIFT_DAYS * DAY_MS - 60_000;
    const drift = (await runGovernance(withHook, now, [driftSource], hook.send)).changes.filter((c) => c.incident.kind.startsWith("drift.") && c.incident.subject.startsWith(SHIFTED));
    expect(drift.map((c) => [c.incident.kind, c.incident.subject, c.incident.severity]).sort()).toEqual(
      [
        ["drift.calibration", `${SHIFTED}/click`, "alert"],
        ["drift.feature", `${SHIFTED}/scroll_depth`, "alert"],
        ["drift.outcome", `${SHIFTED}/click`, "alert"],
      ].concat(drift.some((c) => c.incident.kind === "drift.score") ? [["drift.score", SHIFTED, expect.any(String)]] : []).sort(),
    );
    const alerts = () => hook.received.filter((r) => (r.body as { incident: { kind: string } }).incident.kind.startsWith("drift."));
    expect(alerts()).toHaveLength(drift.length);
    // The next run finds the same: no new change, no new webhook.
    await runGovernance(withHook, now + 300_000, [driftSource], hook.send);
    expect(alerts()).toHaveLength(drift.length);
  });

  it("with AUTO_ROLLBACK=on the shift rolls the shifted champion back, recorded by system", async () => {
    await db.batch(["incidents", "incident_changes", "alert_deliveries", "alert_attempts"].map((t) => db.prepare(`DELETE FROM ${t}`)));
    // The shifted model serves as champion, after the built-in one (what a rollback returns to;
    // reading the deployment registers it).
    expect((await call("/admin/models/deployment", { headers: ADMIN })).status).toBe(200);
    const builtin = await builtinId();
    const latest = await db.prepare("SELECT COALESCE(MAX(revision), 0) AS r FROM model_deployments").first<number>("r");
    await db
      .prepare("INSERT INTO model_deployments (revision, action, model_id, state, actor, created_at) VALUES (?, 'activate', ?, ?, 'test', 0)")
      .bind(latest! + 1, "drift-sim-model-id", JSON.stringify({ champion: "drift-sim-model-id", history: [builtin], challenger: null, shadows: [] }))
      .run();
    const now = SHIFT_DAY0 + SHIFT_DAYS * DAY_MS - 60_000;
    const run = await runGovernance({ ...env, AUTO_ROLLBACK: "on" } as Env, now, [driftSource]);
    // One rollback, however many drift alerts name the model (the first rolls back; the others find it no longer champion).
    expect(run.rollbacks).toEqual([{ incidentId: expect.any(Number), outcome: "click", from: SHIFTED, to: expect.stringMatching(/^nextbest-default@/), revision: latest! + 2 }]);
    const deployment = await db.prepare("SELECT model_id, state, actor FROM model_deployments ORDER BY revision DESC LIMIT 1").first<{ model_id: string; state: string; actor: string }>();
    expect(deployment).toMatchObject({ model_id: builtin, actor: "system" });
    expect(JSON.parse(deployment!.state)).toMatchObject({ champion: builtin });
    const rolledFor = run.changes.find((c) => c.incident.id === run.rollbacks[0]!.incidentId)!.incident;
    expect(rolledFor.kind.startsWith("drift.") && rolledFor.subject.startsWith(SHIFTED)).toBe(true);
  });

  it("judges by the DRIFT_* variables the Worker is configured with", async () => {
    const now = SHIFT_DAY0 + SHIFT_DAYS * DAY_MS - 60_000;
    const featureFindings = (findings: Finding[]) => findings.filter((f) => f.kind === "drift.feature" && f.subject.startsWith(SHIFTED)).map((f) => f.severity);
    // The same shift under thresholds far above its PSI: computed and judged ok, so no finding.
    const lenient = { ...env, DRIFT_PSI_WARN: "50", DRIFT_PSI_ALERT: "100" } as Env;
    expect(featureFindings((await driftSource(lenient, now)).findings)).toEqual([]);
    // And as a warning between the two.
    const between = { ...env, DRIFT_PSI_WARN: "0.1", DRIFT_PSI_ALERT: "100" } as Env;
    expect(featureFindings((await driftSource(between, now)).findings)).toEqual(["warn"]);
    // Back to the defaults for the tests after this one.
    expect(featureFindings((await driftSource(env, now)).findings)).toEqual(["alert"]);
  });
});

describe("the calibration fold", () => {
  it("counts a served block's impression and click once, in its score's bin, even when the events come before the decision", async () => {
    const MODEL = "drift-cal@cccccccccccc";
    const day0 = Date.UTC(2031, 8, 1);
    await db.prepare("DELETE FROM agg_calibration WHERE model = ?").bind(MODEL).run();
    const { decisions, events } = await simulateDay({ prefix: "driftcal", model: MODEL, day0, perDay: 40, seed: 77 });
    await deliver([], events, day0 + DAY_MS);
    await deliver(decisions, [], day0 + DAY_MS);
    await deliver(decisions, events, day0 + DAY_MS); // redelivered: nothing changes
    const { results } = await db.prepare("SELECT bin, impressions, sum_p, clicks, conversions FROM agg_calibration WHERE model = ? ORDER BY bin").bind(MODEL).all<{ bin: number; impressions: number; sum_p: number; clicks: number; conversions: number }>();
    // Reference from the records themselves.
    const expected = new Map<number, { impressions: number; sumP: number; clicks: number }>();
    for (const d of decisions) {
      const p = d.scores[d.candidates.indexOf(d.chosenBlockId)]!;
      const bin = Math.min(9, Math.floor(p * 10));
      const e = expected.get(bin) ?? { impressions: 0, sumP: 0, clicks: 0 };
      e.impressions++;
      e.sumP += p;
      e.clicks += events.filter((x) => x.decisionId === d.decisionId && x.type === "click").length;
      expected.set(bin, e);
    }
    expect(results.map((r) => r.bin)).toEqual([...expected.keys()].sort((a, b) => a - b));
    for (const r of results) {
      const e = expected.get(r.bin)!;
      expect({ bin: r.bin, impressions: r.impressions, clicks: r.clicks, conversions: r.conversions }).toEqual({ bin: r.bin, impressions: e.impressions, clicks: e.clicks, conversions: 0 });
      expect(r.sum_p).toBeCloseTo(e.sumP, 9);
    }
  });
});

describe("no shift over 30 days", () => {
  it("gives no finding, so no incident (first-day baseline, as the series says)", async () => {
    const series = await readSeries(db, { from: utcDay(STEADY_DAY0), to: utcDay(STEADY_DAY0 + 40 * DAY_MS), model: STEADY });
    expect(series.filter((p) => p.kind === "feature").length).toBe(STEADY_DAYS * FEATURES.length);
    // Clicks are judged from the 8th day on (7 trailing days needed); there are no conversions.
    expect(series.filter((p) => p.kind === "outcome" && p.status !== "insufficient").length).toBe(STEADY_DAYS - DEFAULT_DRIFT_THRESHOLDS.minTrailingDays);
    // Neither alert nor warn on any day: a warn would open an incident too. (Over many seeds the
    // false-alarm rate is measured by test/node/drift-false-alarms.ts and stated in the README.)
    expect(series.filter((p) => p.status === "alert" || p.status === "warn")).toEqual([]);
    expect(new Set(series.filter((p) => p.kind === "feature" || p.kind === "score").map((p) => p.baseline))).toEqual(new Set(["first_day"]));
    const { kinds, findings } = await driftFindings(db, noon(STEADY_DAY0, STEADY_DAYS - 1));
    expect(kinds).toEqual(["drift.feature", "drift.score", "drift.outcome", "drift.calibration"]);
    expect(findings.filter((f) => f.model === STEADY)).toEqual([]);
  });
});

describe("GET /admin/drift", () => {
  it("answers the series and the latest values per feature with status and baseline kind", async () => {
    const from = utcDay(SHIFT_DAY0);
    const to = utcDay(SHIFT_DAY0 + (SHIFT_DAYS - 1) * DAY_MS);
    const res = await call(`/admin/drift?model=${encodeURIComponent(SHIFTED)}&from=${from}&to=${to}`, { headers: ADMIN });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { window: unknown; thresholds: { psiWarn: number }; models: { model: string; baseline: string; features: { feature: string; status: string; baseline: string; day: string }[]; outcomes: { outcome: string; status: string }[] }[]; series: unknown[] };
    expect(body.window).toEqual({ from, to });
    expect(body.thresholds.psiWarn).toBe(0.1);
    expect(body.models.map((m) => m.model)).toEqual([SHIFTED]);
    const m = body.models[0]!;
    expect(m.baseline).toBe("mixed");
    expect(m.features.find((f) => f.feature === "scroll_depth")).toMatchObject({ status: "alert", baseline: "manifest", day: to });
    expect(m.features.find((f) => f.feature === "first_visit")).toMatchObject({ status: "ok", baseline: "manifest" });
    expect(m.features.find((f) => f.feature === "block_priority")).toMatchObject({ status: "ok", baseline: "first_day" });
    expect(m.outcomes.find((o) => o.outcome === "click")).toMatchObject({ status: "alert" });
    expect(body.series.length).toBeGreaterThan(SHIFT_DAYS * FEATURES.length);
  });

  it.each([
    ["from=yesterday", 400],
    ["from=2031-02-29", 400], // not a leap year: refused, not read as 1 March
    ["from=%2B275760-09-13", 400], // past the year 9999: no 'YYYY-MM-DD' day (was a 500)
    ["to=253402300800000", 400],
    ["from=2031-03-10&to=2031-03-01", 400],
    ["from=2029-01-01&to=2031-03-01", 400],
    ["bogus=1", 400],
    ["model=nobody@000000000000", 404],
  ])("%s → %i with the one error shape", async (query, status) => {
    const res = await call(`/admin/drift?${query}`, { headers: ADMIN });
    expect(res.status).toBe(status);
    expect(await res.json()).toEqual({ error: { code: expect.any(String), message: expect.any(String) } });
  });

  it("needs the admin token", async () => {
    expect((await call("/admin/drift")).status).toBe(401);
  });
});
