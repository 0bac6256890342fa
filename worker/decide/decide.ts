/**
 * The decision core: plain functions, no Hono and no binding types, so it is tested directly.
 * Flow per request: consent → holdout → score every candidate once → per slot, in request order,
 * pick the best not yet used on this page (or explore) → decisions with propensities.
 */
import type { Block, Catalog } from "../catalog/schema.ts";
import { isHeldOut, type HoldoutConfig } from "../holdout/assign.ts";
import { unitHash } from "../holdout/hash.ts";
import { buildFeatureMatrix } from "../ranking/features.ts";
import type { ModelSelection } from "../ranking/active-model.ts";
import type { Scorer } from "../ranking/scorer.ts";
import { AppError } from "../errors/app-error.ts";
import type { DecideRequest, Decision, DecisionReason } from "./schema.ts";

/** What `decide` needs from the outside world; tests pass deterministic versions. */
export interface DecideDeps {
  catalog: Catalog;
  /** The models for this visitor; rejecting makes the answer the rule-based fallback. */
  models: (visitorId: string) => Promise<ModelSelection>;
  /** Decision ids (random UUIDs in production, a counter in tests). */
  newId: () => string;
  holdout: HoldoutConfig;
  /** Probability of exploring (serving a uniformly drawn allowed block) per slot. */
  epsilon: number;
}

interface Ranked {
  block: Block;
  /** What arbitration sorts by. */
  rank: number;
  score?: number;
}

function defaultBlock(catalog: Catalog, slot: string): Block {
  const id = catalog.slots[slot]!.defaultBlock;
  return catalog.blocks.find((b) => b.id === id)!;
}

function answer(slot: string, decisionId: string, block: Block, reason: DecisionReason, extra: Partial<Decision> = {}): Decision {
  return {
    slot,
    decisionId,
    block: { id: block.id, html: block.html },
    holdout: reason === "holdout",
    propensity: 1,
    modelVersion: null,
    reason,
    ...extra,
  };
}

/** Ranks by model: expected value (probability × value) for probability models, else the score. */
async function rankByModel(scorer: Scorer, request: DecideRequest, blocks: Block[]): Promise<Map<string, Ranked>> {
  const matrix = buildFeatureMatrix(scorer.manifest.features, request.context.signals, blocks);
  const scores = await scorer.score(matrix, blocks.length);
  const byProbability = scorer.manifest.output === "probability";
  return new Map(
    blocks.map((block, i) => {
      const score = scores[i]!;
      if (!Number.isFinite(score)) throw new Error(`model returned a non-finite score for ${block.id}`);
      return [block.id, { block, score, rank: byProbability ? score * block.value : score }];
    }),
  );
}

/** The rule-based fallback: priority × value. */
function rankByRules(blocks: Block[]): Map<string, Ranked> {
  return new Map(blocks.map((block) => [block.id, { block, rank: block.priority * block.value }]));
}

/** Sorts best first; ties broken by block id so the order never depends on catalog order. */
function byRank(a: Ranked, b: Ranked): number {
  return b.rank - a.rank || (a.block.id < b.block.id ? -1 : a.block.id > b.block.id ? 1 : 0);
}

/**
 * Chooses the block for one slot from its ranked candidates with epsilon-greedy exploration,
 * seeded by the decision id, and returns the exact probability of that choice.
 */
export function choose(candidates: Ranked[], decisionId: string, epsilon: number): { pick: Ranked; propensity: number; explored: boolean } {
  const k = candidates.length;
  const best = candidates[0]!;
  if (k === 1 || epsilon <= 0) return { pick: best, propensity: 1, explored: false };
  const explore = unitHash("explore", decisionId) < epsilon;
  const pick = explore ? candidates[Math.floor(unitHash("explore-pick", decisionId) * k)]! : best;
  const propensity = epsilon / k + (pick === best ? 1 - epsilon : 0);
  return { pick, propensity, explored: explore && pick !== best };
}

/** Decides every requested slot. Never throws for a valid request except for unknown slots. */
export async function decide(request: DecideRequest, deps: DecideDeps): Promise<Decision[]> {
  const { catalog } = deps;
  const unknown = request.slots.filter((s) => !catalog.slots[s]);
  if (unknown.length) throw new AppError("unknown_slot", `slots: unknown slot(s) ${unknown.join(", ")}`);

  if (!request.consent.personalization) {
    return request.slots.map((slot) => answer(slot, deps.newId(), defaultBlock(catalog, slot), "default"));
  }
  if (isHeldOut(request.visitorId, deps.holdout)) {
    return request.slots.map((slot) => answer(slot, deps.newId(), defaultBlock(catalog, slot), "holdout"));
  }

  const wanted = new Set(request.slots);
  const candidates = catalog.blocks.filter((b) => b.slots.some((s) => wanted.has(s)));
  let ranked: Map<string, Ranked>;
  let modelVersion: string | null = null;
  let reason: DecisionReason = "ranked";
  try {
    const scorer = (await deps.models(request.visitorId)).serving;
    ranked = await rankByModel(scorer, request, candidates);
    modelVersion = scorer.version;
  } catch (err) {
    // A valid request never fails: without a model the rules still give an answer.
    console.warn("ranking failed, serving the rule-based fallback:", err instanceof Error ? err.message : err);
    ranked = rankByRules(candidates);
    reason = "fallback";
  }

  const used = new Set<string>();
  return request.slots.map((slot) => {
    const decisionId = deps.newId();
    const options = [...ranked.values()].filter((r) => r.block.slots.includes(slot) && !used.has(r.block.id)).sort(byRank);
    if (options.length === 0) return answer(slot, decisionId, defaultBlock(catalog, slot), "default");
    const { pick, propensity, explored } =
      reason === "ranked" ? choose(options, decisionId, deps.epsilon) : { pick: options[0]!, propensity: 1, explored: false };
    used.add(pick.block.id);
    return answer(slot, decisionId, pick.block, reason, {
      propensity,
      modelVersion,
      ...(pick.score !== undefined ? { score: pick.score } : {}),
      ...(explored ? { explored } : {}),
    });
  });
}
