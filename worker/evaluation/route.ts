import { Hono } from "hono";
import { z } from "zod";
import { AppError } from "../errors/app-error.ts";
import type { LoggedDecision } from "../export/line.ts";
import { jsonBody, limitBody, requireJson } from "../http/json-body.ts";
import type { AppEnv } from "../services.ts";
import { builtinId } from "../models/builtin.ts";
import { isolateModelRuntime, modelSourceFromEnv } from "../models/runtime.ts";
import { COMPARISON_METHOD, compareOnLog, overlaps } from "./compare.ts";
import { assertPropensities, offPolicyEstimates, type OpeEstimates } from "./estimators.ts";
import { loadLoggedDecisions, scorerForEvaluation } from "./load.ts";
import { policySpecSchema } from "./policy.ts";
import { replaySamples, scorerPolicy } from "./replay.ts";

const DAY_MS = 86_400_000;

const time = z.union([z.number().int().nonnegative(), z.iso.datetime({ offset: true }).transform((s) => Date.parse(s))]);

const evaluateBody = z
  .object({
    from: time.optional(),
    to: time.optional(),
    slot: z.string().min(1).max(64).optional(),
    /** Only decisions logged under this model version. */
    loggedModel: z.string().min(1).max(256).optional(),
    reward: z.enum(["click", "conversion", "value"]).default("click"),
    policy: policySpecSchema.default({ type: "greedy" }),
    /** At most this many logged decisions, oldest first. */
    limit: z.number().int().min(1).max(100_000).default(20_000),
    confidence: z.number().gt(0.5).lt(1).default(0.95),
  })
  .refine((b) => b.from === undefined || b.to === undefined || b.from < b.to, { message: "from must be before to", path: ["from"] });

/** Fewer effective samples than this and the intervals rest on a handful of decisions. */
const MIN_EFFECTIVE_SAMPLES = 100;

const iso = (ms: number) => new Date(ms).toISOString();

/** The estimates shown for each side of a comparison. */
const pick = (e: OpeEstimates) => ({ ips: e.ips, snips: e.snips, dr: e.dr, effectiveSampleSize: e.effectiveSampleSize });

/**
 * `POST /admin/models/:id/evaluate`: the model's value on logged traffic (IPS, SNIPS, DR with
 * intervals) next to the logging policy's observed value, before the model serves anyone; and
 * `comparison`: the candidate against the current champion (same policy spec) on the decisions
 * both replay, side by side, with the difference candidate − champion and its interval (paired
 * per-decision IPS and DR terms, worker/evaluation/compare.ts). Warns when the evaluated
 * decisions overlap the candidate's training data (the manifest's `training` range).
 */
export const evaluateRoute = new Hono<AppEnv>().post("/:id/evaluate", requireJson(), limitBody(4096), jsonBody(evaluateBody), async (c) => {
  const body = c.req.valid("json");
  const services = c.get("services");
  const { scorer, release } = await scorerForEvaluation(c.req.param("id"), c.env);
  try {
    const to = body.to ?? services.now();
    const from = body.from ?? to - 30 * DAY_MS;
    const decisions: LoggedDecision[] = [];
    const filter = { from, to, slot: body.slot, modelVersion: body.loggedModel, includeHoldout: false };
    // Logged decisions come from the lake (plus the rows not yet flushed), not a scan of D1.
    for await (const page of loadLoggedDecisions(c.env, filter, 500, services.now())) {
      decisions.push(...page.slice(0, body.limit - decisions.length));
      if (decisions.length >= body.limit) break;
    }
    if (decisions.length === 0) throw new AppError("insufficient_data", "no logged decisions in the window to evaluate on");

    const catalog = await services.catalog.get();
    const values = new Map(catalog.blocks.map((b) => [b.id, b.value]));
    assertPropensities(decisions);
    const candidateAnswers = await scorerPolicy(scorer, values, body.policy).answer(decisions);
    const replayed = replaySamples(decisions, candidateAnswers, body.reward);
    const result = { estimates: offPolicyEstimates(replayed.samples, body.confidence), logged: decisions.length, skipped: replayed.skipped, agreement: replayed.agreement };
    const { estimates } = result;
    if (estimates.n === 0) {
      throw new AppError("insufficient_data", `none of the ${decisions.length} logged decisions can be replayed: ${JSON.stringify(result.skipped)}`);
    }

    const warnings: string[] = [];
    if (estimates.effectiveSampleSize < Math.min(MIN_EFFECTIVE_SAMPLES, estimates.n)) {
      warnings.push(`effective sample size ${estimates.effectiveSampleSize.toFixed(1)}: the target policy rarely agrees with the logged choices, intervals are fragile`);
    }
    if (result.logged > estimates.n) warnings.push(`${result.logged - estimates.n} logged decisions could not be replayed (see skipped)`);

    // Outcomes the model was trained on make its estimate optimistic.
    const training = scorer.manifest.training;
    const evaluatedRange = { from: Math.min(...decisions.map((d) => d.time)), to: Math.max(...decisions.map((d) => d.time)) };
    if (training && overlaps(evaluatedRange, training)) {
      warnings.push(
        `the evaluated decisions (${iso(evaluatedRange.from)} – ${iso(evaluatedRange.to)}) overlap the candidate's training data (${iso(training.from)} – ${iso(training.to)}, manifest training): ` +
          `the model has seen these outcomes, so its estimate is optimistic; evaluate on decisions after its training (from: ${training.to + 1})`,
      );
    } else if (!training && !scorer.version.endsWith(`@${(await builtinId()).slice(0, 12)}`)) {
      warnings.push("the candidate's manifest records no training range (manifest training, written by npm run train): check yourself that the window excludes its training data");
    }

    // The current champion, replayed with the same policy spec on the same decisions.
    const championId = (await isolateModelRuntime.deployment(modelSourceFromEnv(c.env))).champion;
    let comparison: Record<string, unknown> | null = null;
    try {
      const champion = await scorerForEvaluation(championId, c.env);
      try {
        const same = champion.scorer.version === scorer.version;
        const championAnswers = same ? candidateAnswers : await scorerPolicy(champion.scorer, values, body.policy).answer(decisions);
        const compared = compareOnLog(decisions, candidateAnswers, championAnswers, body.reward, body.confidence);
        comparison = {
          method: COMPARISON_METHOD,
          champion: { id: championId, version: champion.scorer.version },
          candidateIsChampion: same,
          evaluated: compared.evaluated,
          skipped: compared.skipped,
          candidate: { ...pick(compared.candidate.estimates), agreement: compared.candidate.agreement },
          championEstimates: { ...pick(compared.champion.estimates), agreement: compared.champion.agreement },
          difference: { ips: compared.difference.ips, dr: compared.difference.dr },
          verdict: compared.verdict,
        };
        if (same) warnings.push("the candidate is the current champion: the difference is 0 by construction");
      } finally {
        champion.release();
      }
    } catch (err) {
      warnings.push(`the current champion (${championId.slice(0, 12)}) could not be replayed for the comparison: ${err instanceof Error ? err.message : String(err)}`);
    }
    return c.json({
      model: { id: c.req.param("id"), version: scorer.version, output: scorer.manifest.output },
      policy: body.policy,
      reward: body.reward,
      window: { from, to },
      logged: result.logged,
      evaluated: estimates.n,
      skipped: result.skipped,
      agreement: result.agreement,
      confidence: estimates.confidence,
      loggedPolicy: estimates.logged,
      ips: estimates.ips,
      snips: estimates.snips,
      dr: estimates.dr,
      effectiveSampleSize: estimates.effectiveSampleSize,
      maxWeight: estimates.maxWeight,
      trainingRange: training ?? null,
      comparison,
      warnings,
    });
  } finally {
    release();
  }
});
