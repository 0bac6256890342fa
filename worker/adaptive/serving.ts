/**
 * Serving the adaptive model: a Scorer whose state (every block's posterior) is cached per
 * isolate and refreshed in the background after STATE_TTL_MS, so the decide path never waits
 * for D1 except on the isolate's first use (stale-while-revalidate).
 *
 * - `score(features, rows, { blockIds })`: the posterior-mean probability σ(mᵀx) (shadows,
 *   off-policy evaluation, exports);
 * - `thompson(features, rows, blockIds)`: each row's logit moments, from which the decide core
 *   draws the served scores and estimates the propensity (worker/adaptive/thompson.ts).
 * Blocks without a posterior get the prior (cold start: they are sampled wide and explored).
 */
import type { Scorer } from "../ranking/scorer.ts";
import { adaptiveManifest, adaptiveVersion } from "./model.ts";
import { logitMoments, priorPosterior, sigmoid, type Posterior } from "./posterior.ts";
import type { AdaptiveState } from "./store.ts";
import type { Arm } from "./thompson.ts";

/** How long a cached state is served before a background refresh (ms). */
export const STATE_TTL_MS = 10_000;

/** Where serving reads the state. */
export interface AdaptiveStateSource {
  read(modelId: string): Promise<AdaptiveState>;
}

/** A Scorer that can also give Thompson sampling the posterior of each row. */
export interface ThompsonScorer extends Scorer {
  /** Logit mean and standard deviation per row, value 1 (the caller multiplies by the block's). */
  thompson(features: Float32Array, rows: number, blockIds: readonly string[]): Arm[];
  /** The state revision this scorer last served. */
  revision(): number;
}

export const isThompsonScorer = (s: Scorer): s is ThompsonScorer => typeof (s as Partial<ThompsonScorer>).thompson === "function";

/** Creates the adaptive scorer of one isolate. */
export async function adaptiveScorer(modelId: string, source: AdaptiveStateSource, options: { ttlMs?: number; now?: () => number } = {}): Promise<ThompsonScorer> {
  const ttl = options.ttlMs ?? STATE_TTL_MS;
  const now = options.now ?? Date.now;
  let state = await source.read(modelId);
  let at = now();
  let refreshing: Promise<void> | undefined;
  const manifest = adaptiveManifest();
  const width = manifest.features.length;
  const prior = priorPosterior(width + 1);

  function current(): AdaptiveState {
    if (now() - at >= ttl && !refreshing) {
      refreshing = source
        .read(modelId)
        .then((s) => void ((state = s), (at = now())))
        .catch((err) => console.warn("adaptive state refresh failed, serving the cached one:", err instanceof Error ? err.message : err))
        .finally(() => (refreshing = undefined));
    }
    return state;
  }

  function moments(post: Posterior, features: Float32Array, row: number) {
    const x = new Float64Array(width + 1);
    x[0] = 1;
    for (let c = 0; c < width; c++) x[c + 1] = features[row * width + c]!;
    return logitMoments(post, x);
  }

  /** Each row's posterior; rows without a block id (a warm-up run) get the prior. */
  function posteriorsOf(blockIds: readonly string[] | undefined, rows: number): Posterior[] {
    const s = current();
    return Array.from({ length: rows }, (_, r) => (blockIds?.[r] !== undefined ? (s.blocks.get(blockIds[r]!) ?? prior) : prior));
  }

  return {
    version: await adaptiveVersion(),
    manifest,
    async score(features, rows, context) {
      const posts = posteriorsOf(context?.blockIds, rows);
      return Float32Array.from(posts, (p, r) => sigmoid(moments(p, features, r).mean));
    },
    thompson(features, rows, blockIds) {
      const posts = posteriorsOf(blockIds, rows);
      return posts.map((p, r) => {
        const m = moments(p, features, r);
        return { mean: m.mean, sd: Math.sqrt(m.variance), value: 1 };
      });
    },
    revision: () => state.revision,
  };
}
