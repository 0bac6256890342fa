/**
 * `GET /admin/models/:id/adaptive`: the adaptive model's state, versioned by its revision — every
 * block's posterior (mean and standard deviation of each coefficient, observations, positives),
 * the feature list, the prior and the learner's cursor. `npm run adaptive:onnx` turns this answer
 * into one ONNX file per block (its posterior mean), a regular nextbest model a data scientist
 * can inspect, evaluate offline or upload.
 *
 * `POST /admin/models/:id/adaptive/learn`: runs the learning step now (it also runs after every
 * log batch and on the cron), e.g. after a bulk import; `labelDelayMs` may shorten the wait.
 */
import { Hono } from "hono";
import { z } from "zod";
import { AppError } from "../errors/app-error.ts";
import { jsonBody, limitBody, requireJson } from "../http/json-body.ts";
import { admin } from "../models/route.ts";
import { isolateModelRuntime } from "../models/runtime.ts";
import type { AppEnv } from "../services.ts";
import { adaptiveFeatureNames } from "./features.ts";
import { adaptiveId, adaptiveVersion } from "./model.ts";
import { DEFAULT_PRIOR, sigmoid } from "./posterior.ts";
import { LABEL_DELAY_MS, learnUntilCaughtUp, readAdaptiveState } from "./store.ts";

/** The export format (`adaptive:onnx` reads it). */
export interface AdaptiveExport {
  format: "nextbest-adaptive-state/1";
  modelId: string;
  version: string;
  revision: number;
  updatedAt: number | null;
  /** Coefficient order: "(intercept)" then the features. */
  coefficients: string[];
  prior: typeof DEFAULT_PRIOR;
  labelDelayMs: number;
  blocks: Array<{ blockId: string; n: number; positives: number; mean: number[]; sd: number[]; baseRate: number }>;
}

const learnBody = z.object({ labelDelayMs: z.number().int().min(0).max(7 * 86_400_000).optional() }).strict();

async function adaptiveOnly(id: string, c: Parameters<typeof admin>[0]): Promise<string> {
  const model = await admin(c).get(id);
  if (model.id !== (await adaptiveId())) throw new AppError("conflict", `model ${model.version} is not the adaptive model; its state is its ONNX file`);
  return model.id;
}

export const adaptiveRoute = new Hono<AppEnv>()
  .get("/:id/adaptive", async (c) => {
    const id = await adaptiveOnly(c.req.param("id"), c);
    const state = await readAdaptiveState(c.env.DB, id);
    const body: AdaptiveExport = {
      format: "nextbest-adaptive-state/1",
      modelId: id,
      version: await adaptiveVersion(),
      revision: state.revision,
      updatedAt: state.updatedAt,
      coefficients: ["(intercept)", ...adaptiveFeatureNames()],
      prior: DEFAULT_PRIOR,
      labelDelayMs: LABEL_DELAY_MS,
      blocks: [...state.blocks]
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([blockId, p]) => ({ blockId, n: p.n, positives: p.positives, mean: p.mean, sd: p.precision.map((q) => 1 / Math.sqrt(q)), baseRate: sigmoid(p.mean[0]!) })),
    };
    return c.json(body);
  })
  .post("/:id/adaptive/learn", requireJson(), limitBody(1024), jsonBody(learnBody), async (c) => {
    const id = await adaptiveOnly(c.req.param("id"), c);
    const body = c.req.valid("json");
    const steps = await learnUntilCaughtUp(c.env.DB, id, { now: c.get("services").now(), ...(body.labelDelayMs !== undefined ? { labelDelayMs: body.labelDelayMs } : {}), maxSteps: 20 });
    isolateModelRuntime.invalidate();
    return c.json({
      learned: steps.reduce((s, r) => s + r.learned, 0),
      positives: steps.reduce((s, r) => s + r.positives, 0),
      read: steps.reduce((s, r) => s + r.read, 0),
      revision: steps.at(-1)?.revision ?? 0,
    });
  });
