/**
 * `/admin/models/:id/calibration` and `/admin/models/:id/calibrate` (issue 14 item 3): how well a
 * model's probabilities match what happened on logged decisions, and a fitted calibration map
 * stored as a versioned post-processing step applied at serving.
 *
 * Pairs: for each logged, non-holdout decision of the model that was shown (an impression, a
 * click or a conversion carries its id), the served block's logged score and whether the outcome
 * (click by default, or conversion) followed. Read from the lake like off-policy evaluation.
 */
import { actorOf } from "../admin/actor.ts";
import { Hono, type Context } from "hono";
import { z } from "zod";
import { adaptiveId } from "../adaptive/model.ts";
import { AppError } from "../errors/app-error.ts";
import type { LoggedDecision } from "../export/line.ts";
import { loadLoggedDecisions } from "../evaluation/load.ts";
import { jsonBody, limitBody, requireJson } from "../http/json-body.ts";
import { queryParams, timeParam, intParam } from "../http/query.ts";
import { admin } from "../models/route.ts";
import { isolateModelRuntime } from "../models/runtime.ts";
import type { AppEnv } from "../services.ts";
import { calibrator, fitCalibration, type CalibrationMap } from "./fit.ts";
import { BADLY_CALIBRATED_ECE, MIN_RELIABLE_N, calibrationMetrics, verdict, type Labelled } from "./metrics.ts";
import { calibratedVersion, calibrationsOf, deactivateCalibrations, insertCalibration, type StoredCalibration } from "./store.ts";

const DAY_MS = 86_400_000;
const MAX_DECISIONS = 100_000;
const time = z.union([z.number().int().nonnegative(), z.iso.datetime({ offset: true }).transform((s) => Date.parse(s))]);
const outcome = z.enum(["click", "conversion"]);

const reportQuery = z.object({
  from: timeParam.optional(),
  to: timeParam.optional(),
  outcome: outcome.default("click"),
  /** The logged version to report on; default: what the model serves now (`<version>[+cal<n>]`). */
  modelVersion: z.string().min(1).max(256).optional(),
  limit: intParam(1, MAX_DECISIONS).default(50_000),
});

const calibrateBody = z
  .object({
    method: z.enum(["platt", "isotonic"]).default("platt"),
    from: time.optional(),
    to: time.optional(),
    outcome: outcome.default("click"),
    /** Refuse to fit on fewer shown decisions than this. */
    minDecisions: z.number().int().min(10).max(MAX_DECISIONS).default(MIN_RELIABLE_N),
    limit: z.number().int().min(1).max(MAX_DECISIONS).default(50_000),
  })
  .strict()
  .refine((b) => b.from === undefined || b.to === undefined || b.from < b.to, { message: "from must be before to", path: ["from"] });

const shown = (d: LoggedDecision) => d.outcomes.impression === 1 || d.outcomes.click === 1 || d.outcomes.conversion === 1;

/** (served score, outcome) of shown decisions; `raw` maps a logged score back to the model's own. */
function pairsOf(decisions: LoggedDecision[], which: "click" | "conversion", raw: (p: number) => number = (p) => p): Labelled[] {
  const out: Labelled[] = [];
  for (const d of decisions) {
    if (!shown(d)) continue;
    const score = d.candidates.find((c) => c.blockId === d.chosenBlockId)?.score;
    if (score === null || score === undefined || !Number.isFinite(score)) continue;
    // Logged as the shortest decimal of the served float32 (worker/audit/float32.ts): measured
    // as that float32, so a score served just below a bin edge is not binned above it.
    out.push({ p: Math.min(1, Math.max(0, raw(Math.fround(score)))), y: d.outcomes[which] });
  }
  return out;
}

async function logged(c: Context<AppEnv>, modelVersion: string, from: number, to: number, limit: number): Promise<LoggedDecision[]> {
  const out: LoggedDecision[] = [];
  for await (const page of loadLoggedDecisions(c.env, { from, to, modelVersion, includeHoldout: false }, 500, c.get("services").now())) {
    out.push(...page.slice(0, limit - out.length));
    if (out.length >= limit) break;
  }
  return out;
}

/** Inverse of a Platt map (a ≠ 0): the model's own probability behind a calibrated one. */
function plattInverse(map: Extract<CalibrationMap, { method: "platt" }>): (p: number) => number {
  return (q) => {
    const c = Math.min(Math.max(q, 1e-12), 1 - 1e-12);
    return 1 / (1 + Math.exp(-(Math.log(c / (1 - c)) - map.b) / map.a));
  };
}

const summary = (s: StoredCalibration) => ({ n: s.n, method: s.method, active: s.active, createdBy: s.createdBy, createdAt: s.createdAt });

async function probabilityModel(c: Context<AppEnv>, id: string) {
  const model = await admin(c).get(id);
  if (model.output !== "probability") throw new AppError("conflict", `model ${model.version} outputs scores, not probabilities: there is nothing to calibrate`);
  return model;
}

function assessment(m: ReturnType<typeof calibrationMetrics>) {
  const v = verdict(m);
  return {
    verdict: v,
    threshold: { ece: BADLY_CALIBRATED_ECE, minDecisions: MIN_RELIABLE_N },
    ...(v === "bad"
      ? { warning: `badly calibrated: ECE ${m.ece.toFixed(3)} > ${BADLY_CALIBRATED_ECE}; probability × value arbitration over-weights the blocks it over-predicts — POST /admin/models/:id/calibrate` }
      : {}),
  };
}

/** The calibration sub-app (mounted at /admin/models after the bearer-token check). */
export const calibrationRoute = new Hono<AppEnv>()
  .get("/:id/calibration", queryParams(reportQuery), async (c) => {
    const q = c.req.valid("query");
    const model = await probabilityModel(c, c.req.param("id"));
    const history = await calibrationsOf(c.env.DB, model.id);
    const active = history.find((h) => h.active);
    const modelVersion = q.modelVersion ?? (active ? calibratedVersion(model.version, active.n) : model.version);
    const to = q.to ?? c.get("services").now();
    const from = q.from ?? to - 30 * DAY_MS;
    const decisions = await logged(c, modelVersion, from, to, q.limit);
    const pairs = pairsOf(decisions, q.outcome);
    if (!pairs.length) throw new AppError("insufficient_data", `no shown decisions logged under ${modelVersion} in the window: nothing to measure calibration on`);
    const metrics = calibrationMetrics(pairs);
    return c.json({
      model: { id: model.id, version: model.version },
      modelVersion,
      window: { from, to },
      outcome: q.outcome,
      decisions: decisions.length,
      ...metrics,
      ...assessment(metrics),
      calibration: active ? summary(active) : null,
      history: history.map(summary),
    });
  })
  .post("/:id/calibrate", requireJson(), limitBody(4096), jsonBody(calibrateBody), async (c) => {
    const body = c.req.valid("json");
    const model = await probabilityModel(c, c.req.param("id"));
    // Thompson sampling ranks by posterior draws: a map over its mean would change nothing served.
    if (model.id === (await adaptiveId())) throw new AppError("conflict", "the adaptive model is Bayesian: its probabilities are posterior estimates updated online, not calibrated by a fixed map");
    const services = c.get("services");
    const to = body.to ?? services.now();
    const from = body.from ?? to - 30 * DAY_MS;
    // Decisions scored by the model itself, and those served through an earlier Platt map, mapped back.
    const history = await calibrationsOf(c.env.DB, model.id);
    const pairs = pairsOf(await logged(c, model.version, from, to, body.limit), body.outcome);
    for (const h of history) {
      if (pairs.length >= body.limit || h.map.method !== "platt" || h.map.a === 0) continue;
      pairs.push(...pairsOf(await logged(c, calibratedVersion(model.version, h.n), from, to, body.limit - pairs.length), body.outcome, plattInverse(h.map)));
    }
    if (pairs.length < body.minDecisions) {
      throw new AppError("insufficient_data", `${pairs.length} shown decisions of ${model.version} in the window; calibrating needs at least ${body.minDecisions}`);
    }
    const map = fitCalibration(pairs, body.method);
    const before = calibrationMetrics(pairs);
    const f = calibrator(map);
    const after = calibrationMetrics(pairs.map(({ p, y }) => ({ p: f(p), y })));
    const fitted = {
      window: { from, to },
      outcome: body.outcome,
      decisions: pairs.length,
      positives: before.positives,
      before: { ece: before.ece, brier: before.brier, logLoss: before.logLoss, auc: before.auc },
      after: { ece: after.ece, brier: after.brier, logLoss: after.logLoss, auc: after.auc },
    };
    const stored = await insertCalibration(c.env.DB, { modelId: model.id, method: body.method, map, fitted, createdBy: actorOf(c), createdAt: services.now() });
    isolateModelRuntime.invalidate();
    return c.json({ model: { id: model.id, version: model.version }, calibration: { ...summary(stored), map, modelVersion: calibratedVersion(model.version, stored.n), fitted }, ...assessment(before) }, 201);
  })
  .delete("/:id/calibration", async (c) => {
    const model = await probabilityModel(c, c.req.param("id"));
    const changed = await deactivateCalibrations(c.env.DB, model.id);
    isolateModelRuntime.invalidate();
    return c.json({ model: { id: model.id, version: model.version }, changed });
  });
