/**
 * Ranking with configured arbitration: the serving model and every other outcome's model score
 * the same allowed blocks (concurrently), then `arbitrate` turns their propensities into one
 * priority per block. Decide only takes this path when another outcome serves or the
 * arbitration is not the default; otherwise it ranks by the one model as before (no extra work).
 */
import type { Block } from "../catalog/schema.ts";
import { rankByModel, type ModelRun, type Ranked } from "../decide/rank.ts";
import type { ModelSelection } from "../ranking/active-model.ts";
import { outcomeOf } from "../ranking/manifest.ts";
import type { Signals } from "../ranking/signals.ts";
import type { Profile } from "../identity/schema.ts";
import { arbitrate, formulaOf } from "./arbitrate.ts";
import { DEFAULT_ARBITRATION, isDefaultArbitration, type ArbitrationConfig } from "./config.ts";

const defaults = new WeakMap<ArbitrationConfig, boolean>();

/** True when decide must arbitrate: another outcome serves, or the configuration is not the default. */
export function needsArbitration(config: ArbitrationConfig | undefined, selection: Pick<ModelSelection, "outcomes">): boolean {
  if (selection.outcomes?.length) return true;
  if (!config) return false;
  let isDefault = defaults.get(config);
  if (isDefault === undefined) defaults.set(config, (isDefault = isDefaultArbitration(config)));
  return !isDefault;
}

/**
 * Ranks by every outcome's model and the arbitration formula. The serving (click) model failing
 * rejects (decide falls back to rules); another outcome's model failing is left out, logged.
 */
export async function rankWithArbitration(
  selection: Pick<ModelSelection, "serving" | "outcomes">,
  config: ArbitrationConfig = DEFAULT_ARBITRATION,
  signals: Signals,
  blocks: Block[],
  now: number,
  traits?: Profile,
): Promise<{ ranked: Map<string, Ranked>; run: ModelRun }> {
  const others = selection.outcomes ?? [];
  const [primary, ...scored] = await Promise.all([
    rankByModel(selection.serving, signals, blocks, now, undefined, traits),
    ...others.map((o) =>
      rankByModel(o.serving, signals, blocks, now, undefined, traits).then(
        (r) => ({ outcome: o.outcome, run: r.run }),
        (err) => {
          console.warn(`${o.outcome} model ${o.serving.version} failed, arbitrating without it:`, err instanceof Error ? err.message : err);
          return undefined;
        },
      ),
    ),
  ]);
  const primaryOutcome = outcomeOf(selection.serving.manifest);
  const ok = scored.filter((s) => s !== undefined);
  const propensities = new Map<string, Record<string, number>>();
  blocks.forEach((b, i) => {
    const p: Record<string, number> = { [primaryOutcome]: primary!.run.scores[i]! };
    for (const s of ok) p[s.outcome] = s.run.scores[i]!;
    propensities.set(b.id, p);
  });
  const factors = arbitrate(config, blocks, propensities, signals);
  for (const [id, r] of primary!.ranked) {
    const f = factors.get(id)!;
    r.rank = f.priority;
    r.arbitration = f;
  }
  const run: ModelRun = {
    ...primary!.run,
    outcomes: ok.map((s) => ({ outcome: s.outcome, version: s.run.version, scores: s.run.scores })),
    arbitration: { formula: formulaOf(config), factors: blocks.map((b) => factors.get(b.id)!) },
  };
  return { ranked: primary!.ranked, run };
}
