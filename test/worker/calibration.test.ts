import { env } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mulberry32 } from "../../models/prng.ts";
import { calibrator, type CalibrationMap } from "../../worker/calibration/fit.ts";
import { builtinId } from "../../worker/models/builtin.ts";
import { isolateModelRuntime } from "../../worker/models/runtime.ts";
import { visitorKey } from "../../worker/visitor/key.ts";
import { auditRecord, writeAudit } from "./audit-fixtures.ts";
import { postDecide } from "./helpers.ts";
import { adminCall, adminOk, AUTH, shoesShopper, treatedVisitors } from "./models-helpers.ts";

const T0 = 1_768_000_000_000;
const N = 2000;
const logit = (p: number) => Math.log(p / (1 - p));
const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

let id: string;
let version: string;

/**
 * The default model's logged decisions where it says p but the truth is σ(logit p − ln 2.25)
 * (0.2 said, 0.1 true): an impression for each, a click when the simulated visitor clicked.
 */
beforeAll(async () => {
  id = await builtinId();
  version = (await adminOk<{ version: string }>(`/${id}`)).version;
  const rng = mulberry32(11);
  const records = [];
  const events: Array<[string, number, string, string, string]> = [];
  for (let i = 0; i < N; i++) {
    const p = 0.02 + 0.58 * rng();
    const clicked = rng() < sigmoid(logit(p) - Math.log(2.25));
    const decisionId = `cal-${i}`;
    const vk = await visitorKey(`cal-v-${i}`);
    records.push(await auditRecord({ decisionId, visitorId: `cal-v-${i}`, time: T0 + i, scores: [p, 0.01], modelVersion: version }));
    events.push([`cal-imp-${i}`, T0 + i + 1, "impression", decisionId, vk]);
    if (clicked) events.push([`cal-click-${i}`, T0 + i + 2, "click", decisionId, vk]);
  }
  await writeAudit(records);
  const insert = env.DB.prepare("INSERT INTO events (id, time, type, decision_id, visitor_key) VALUES (?, ?, ?, ?, ?)");
  for (let i = 0; i < events.length; i += 200) await env.DB.batch(events.slice(i, i + 200).map((e) => insert.bind(...e)));
});

afterAll(async () => {
  await env.DB.prepare("DELETE FROM model_calibrations").run();
  isolateModelRuntime.invalidate();
});

const window = { from: T0, to: T0 + N + 10 };

interface Report {
  modelVersion: string;
  n: number;
  positives: number;
  ece: number;
  brier: number;
  logLoss: number;
  auc: number;
  verdict: string;
  warning?: string;
  bins: Array<{ count: number; meanPredicted: number | null; observedRate: number | null }>;
  calibration: { n: number; method: string } | null;
}

describe("GET /admin/models/:id/calibration", () => {
  it("measures the simulated miscalibration: every shown decision counted, ECE > 0.05, reported as bad", async () => {
    const r = await adminOk<Report>(`/${id}/calibration?from=${window.from}&to=${window.to}`);
    expect(r.modelVersion).toBe(version);
    expect(r.n).toBe(N);
    expect(r.bins).toHaveLength(10);
    expect(r.bins.reduce((s, b) => s + b.count, 0)).toBe(N);
    expect(r.ece).toBeGreaterThan(0.05);
    expect(r.verdict).toBe("bad");
    expect(r.warning).toMatch(/badly calibrated/);
    // The 0.2 bin: the model says ≈ 0.25, the truth is ≈ 0.13.
    expect(r.bins[2]!.meanPredicted!).toBeCloseTo(0.25, 1);
    expect(r.bins[2]!.observedRate!).toBeLessThan(0.2);
    expect(r.auc).toBeGreaterThan(0.55);
    expect(r.calibration).toBeNull();
  });

  it.each([
    ["outcome=purchase", /outcome/],
    ["limit=0", /limit/],
    ["from=yesterday", /from/],
  ])("refuses ?%s with a 400 naming the parameter", async (query, message) => {
    const res = await adminCall(`/${id}/calibration?${query}`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(message);
  });

  it("answers 422 insufficient_data on a window without decisions", async () => {
    const res = await adminCall(`/${id}/calibration?from=1000&to=2000`);
    expect(res.status).toBe(422);
  });

  it("bins a logged score as the float32 served: 0.7, logged for a served 0.699999988…, is in the 0.6 bin", async () => {
    const T1 = T0 + 10_000_000;
    const records = [];
    for (let i = 0; i < 3; i++) records.push(await auditRecord({ decisionId: `cal-edge-${i}`, visitorId: `cal-edge-v-${i}`, time: T1 + i, scores: [0.7, 0.01], modelVersion: version }));
    await writeAudit(records);
    const insert = env.DB.prepare("INSERT INTO events (id, time, type, decision_id, visitor_key) VALUES (?, ?, ?, ?, ?)");
    await env.DB.batch(await Promise.all([0, 1, 2].map(async (i) => insert.bind(`cal-edge-imp-${i}`, T1 + 10, "impression", `cal-edge-${i}`, await visitorKey(`cal-edge-v-${i}`)))));
    const r = await adminOk<Report>(`/${id}/calibration?from=${T1}&to=${T1 + 100}`);
    expect(r.n).toBe(3);
    expect(r.bins.map((b) => b.count)).toEqual([0, 0, 0, 0, 0, 0, 3, 0, 0, 0]);
    expect(r.bins[6]!.meanPredicted).toBe(Math.fround(0.7));
  });
});

describe("POST /admin/models/:id/calibrate", () => {
  it.each([
    [{ method: "sigmoid" }, /method/],
    [{ minDecisions: 1 }, /minDecisions/],
    [{ unknown: 1 }, /unknown|Unrecognized/i],
  ])("refuses %j with a 400", async (body, message) => {
    const res = await adminCall(`/${id}/calibrate`, "POST", { ...window, ...body });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(message);
  });

  it("refuses to fit on too few decisions (422) and stores nothing", async () => {
    const res = await adminCall(`/${id}/calibrate`, "POST", { from: T0, to: T0 + 50, minDecisions: 100 });
    expect(res.status).toBe(422);
    expect((await env.DB.prepare("SELECT COUNT(*) AS n FROM model_calibrations").first<{ n: number }>())!.n).toBe(0);
  });

  it("fits Platt scaling, stores calibration 1, and decisions then record <version>+cal1 with calibrated scores", async () => {
    const res = await adminCall(`/${id}/calibrate`, "POST", { ...window, method: "platt" });
    expect(res.status).toBe(201);
    const body = (await res.json()) as { calibration: { n: number; modelVersion: string; map: CalibrationMap; fitted: { decisions: number; before: { ece: number }; after: { ece: number } } } };
    expect(body.calibration.n).toBe(1);
    expect(body.calibration.modelVersion).toBe(`${version}+cal1`);
    expect(body.calibration.fitted.decisions).toBe(N);
    expect(body.calibration.fitted.after.ece).toBeLessThan(0.02);
    expect(body.calibration.fitted.before.ece).toBeGreaterThan(0.05);
    const map = body.calibration.map as Extract<CalibrationMap, { method: "platt" }>;
    expect(map.b).toBeLessThan(-0.4);

    // Served through the map: the same request with and without the calibration.
    const visitor = treatedVisitors("cal-serve", 1)[0]!;
    const decide = async () => {
      const r = await postDecide({ ...shoesShopper(visitor, ["hero"]), debug: true }, AUTH);
      return (await r.json()) as { decisions: Array<{ modelVersion: string; score?: number; block: { id: string } }>; debug: { candidates?: Record<string, Array<{ blockId: string; score?: number }>> } };
    };
    const calibrated = await decide();
    expect(calibrated.decisions[0]!.modelVersion).toBe(`${version}+cal1`);
    const del = await adminOk<{ changed: boolean }>(`/${id}/calibration`, "DELETE");
    expect(del.changed).toBe(true);
    const raw = await decide();
    expect(raw.decisions[0]!.modelVersion).toBe(version);
    const f = calibrator(map);
    const rawScore = raw.decisions[0]!.score!;
    // A debug decide records nothing, so both answers rank the same blocks (Platt is monotone).
    expect(raw.decisions[0]!.block.id).toBe(calibrated.decisions[0]!.block.id);
    expect(calibrated.decisions[0]!.score!).toBeCloseTo(f(rawScore), 5);
    expect(calibrated.decisions[0]!.score!).toBeLessThan(rawScore);
  });

  it("a second fit is calibration 2 (isotonic), listed in the report's history", async () => {
    const res = await adminCall(`/${id}/calibrate`, "POST", { ...window, method: "isotonic" });
    expect(res.status).toBe(201);
    expect(((await res.json()) as { calibration: { n: number } }).calibration.n).toBe(2);
    const report = await adminOk<Report & { history: Array<{ n: number; active: boolean }> }>(`/${id}/calibration?from=${window.from}&to=${window.to}&modelVersion=${encodeURIComponent(version)}`);
    expect(report.calibration).toMatchObject({ n: 2, method: "isotonic" });
    expect(report.history.map((h) => [h.n, h.active])).toEqual([[2, true], [1, false]]);
  });

  it("needs the admin token", async () => {
    const r = await adminCall(`/${id}/calibration`, "GET", undefined, { authorization: "Bearer wrong" });
    expect(r.status).toBe(401);
  });
});
