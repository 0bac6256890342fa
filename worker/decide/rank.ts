/**
 * Ranking of the allowed candidates: by the model (probability × value, within the latency
 * budget) or, when the model, its loading or the budget fails, by the rules (the page's
 * category first, then priority × value).
 */
import { isThompsonScorer } from "../adaptive/serving.ts";
import { thompsonDraw, thompsonPropensity, type Arm } from "../adaptive/thompson.ts";
import type { ArbitrationFactors } from "../arbitration/arbitrate.ts";
import type { Block } from "../catalog/schema.ts";
import { buildFeatureMatrix } from "../ranking/features.ts";
import type { Scorer } from "../ranking/scorer.ts";
import type { Signals } from "../ranking/signals.ts";
import type { Profile } from "../identity/schema.ts";

/** A candidate's place in arbitration. */
export interface Ranked {
  block: Block;
  rank: number;
  score?: number;
  /**
   * Compared before `rank` (higher first; absent = 0). The rule-based fallback puts the blocks of
   * the page's category in tier 1, so a degraded answer still fits the page it is shown on.
   */
  tier?: number;
  /** Every factor of `rank` when configured arbitration ranked (worker/arbitration/). */
  arbitration?: ArbitrationFactors;
}

/** What the model saw and said, for the audit trail and debug output. */
export interface ModelRun {
  version: string;
  /** The ranked blocks, in row order. */
  blockIds: string[];
  featureNames: string[];
  /** One row per ranked block, in `blocks` order. */
  features: number[][];
  scores: number[];
  /**
   * Present when the model explores itself by Thompson sampling (the adaptive model): `scores`
   * are one posterior draw, the selection runs without ε, and the decide core asks here for the
   * served block's propensity among the options the selection allowed (Monte Carlo,
   * worker/adaptive/thompson.ts) and for the posterior-mean choice (`explored` = it differs).
   */
  thompson?: {
    propensity(allowed: readonly string[], chosen: string, decisionId: string): number;
    greedy(allowed: readonly string[]): string | undefined;
  };
  /** The other outcomes' models and their scores (row order), when several outcomes serve. */
  outcomes?: Array<{ outcome: string; version: string; scores: number[] }>;
  /** The arbitration formula and each row's factors, when configured arbitration ranked. */
  arbitration?: { formula: string; factors: ArbitrationFactors[] };
}

/** Rejects when `work` takes longer than `ms` (timer) or the injected clock says it did. */
export async function withinBudget<T>(work: () => Promise<T>, ms: number, now: () => number, what: string): Promise<T> {
  const started = now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} exceeded its ${ms} ms budget`)), ms);
  });
  try {
    const result = await Promise.race([work(), timeout]);
    // workerd's clock only moves on I/O; the check also catches slow work in tests' clocks.
    if (now() - started > ms) throw new Error(`${what} exceeded its ${ms} ms budget`);
    return result;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Scores the blocks with the model; probability models are arbitrated by probability × value.
 * `now` (the decision's clock, ms) feeds time-based declared features. `seed` (the request's
 * first decision id) makes a Thompson-sampling model draw its scores; without it such a model
 * scores its posterior mean (shadows).
 */
export async function rankByModel(scorer: Scorer, signals: Signals, blocks: Block[], now = Date.now(), seed?: string, traits?: Profile): Promise<{ ranked: Map<string, Ranked>; run: ModelRun }> {
  const width = scorer.manifest.features.length;
  // The manifest itself is the cache key: its declarations are compiled once per model version.
  const matrix = buildFeatureMatrix(scorer.manifest, signals, blocks, now, traits);
  const byProbability = scorer.manifest.output === "probability";
  const blockIds = blocks.map((b) => b.id);
  let scores: Float32Array;
  let thompson: ModelRun["thompson"];
  if (seed !== undefined && isThompsonScorer(scorer) && blocks.length) {
    const arms: Arm[] = scorer.thompson(matrix, blocks.length, blockIds).map((a, i) => ({ ...a, value: byProbability ? blocks[i]!.value : 1 }));
    scores = Float32Array.from(thompsonDraw(arms, seed));
    const index = new Map(blockIds.map((id, i) => [id, i]));
    const rows = (ids: readonly string[]) => ids.flatMap((id) => (index.has(id) ? [index.get(id)!] : []));
    thompson = {
      propensity: (allowed, chosen, decisionId) => thompsonPropensity(arms, rows(allowed), index.get(chosen)!, decisionId),
      greedy: (allowed) => {
        let best: string | undefined;
        let bestRank = -Infinity;
        for (const i of rows(allowed)) {
          const rank = arms[i]!.value / (1 + Math.exp(-arms[i]!.mean));
          if (rank > bestRank || (rank === bestRank && best !== undefined && blockIds[i]! < best)) [best, bestRank] = [blockIds[i]!, rank];
        }
        return best;
      },
    };
  } else {
    scores = blocks.length ? await scorer.score(matrix, blocks.length, { blockIds }) : new Float32Array(0);
  }
  const ranked = new Map<string, Ranked>();
  blocks.forEach((block, i) => {
    const score = scores[i]!;
    if (!Number.isFinite(score)) throw new Error(`model returned a non-finite score for ${block.id}`);
    ranked.set(block.id, { block, score, rank: byProbability ? score * block.value : score });
  });
  const features = blocks.map((_, i) => Array.from(matrix.subarray(i * width, (i + 1) * width)));
  return { ranked, run: { version: scorer.version, blockIds, featureNames: [...scorer.manifest.features], features, scores: Array.from(scores), ...(thompson ? { thompson } : {}) } };
}

/**
 * The rule-based fallback, used when the model cannot answer: it still respects what the request
 * says. Blocks of the page's category (`signals.pageCategory` = the block's `category`) come
 * first, then priority × value — a rain-jacket promo never beats a shoe block on a shoes page.
 */
export function rankByRules(blocks: Block[], signals: Pick<Signals, "pageCategory"> = {}): Map<string, Ranked> {
  const page = signals.pageCategory;
  return new Map(blocks.map((block) => [block.id, { block, rank: block.priority * block.value, tier: page !== undefined && block.category === page ? 1 : 0 }]));
}

/** Best first: tier, then rank; ties broken by block id so the order never depends on catalog order. */
export function byRank(a: Ranked, b: Ranked): number {
  return (b.tier ?? 0) - (a.tier ?? 0) || b.rank - a.rank || (a.block.id < b.block.id ? -1 : a.block.id > b.block.id ? 1 : 0);
}
