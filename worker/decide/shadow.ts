/**
 * Shadow models: scored on every decision, their choice and scores logged, never served. A
 * shadow's choice is its greedy pick per slot among the same allowed options (one block per
 * page), ignoring caps, which depend on what is actually served.
 */
import type { Block } from "../catalog/schema.ts";
import type { Scorer } from "../ranking/scorer.ts";
import type { Signals } from "../ranking/signals.ts";
import type { Profile } from "../identity/schema.ts";
import { rankByModel } from "./rank.ts";
import type { RankedOption } from "./select.ts";

/** One shadow model's view of one slot. */
export interface ShadowChoice {
  version: string;
  chosenBlockId?: string;
  /** Shadow score per allowed block of the request. */
  scores: Record<string, number>;
}

/** Per shadow, its choice for each slot (same order as `slotOptions`). A failing shadow is skipped. */
export async function shadowChoices(shadows: Scorer[], signals: Signals, allowed: Block[], slotOptions: RankedOption[][], now = Date.now(), traits?: Profile): Promise<ShadowChoice[][]> {
  const perShadow: ShadowChoice[][] = [];
  for (const shadow of shadows) {
    try {
      const { ranked, run } = await rankByModel(shadow, signals, allowed, now, undefined, traits);
      const scores = Object.fromEntries(allowed.map((b, i) => [b.id, run.scores[i]!]));
      const used = new Set<string>();
      perShadow.push(
        slotOptions.map((options) => {
          const best = options
            .filter((o) => !used.has(o.blockId))
            .sort((a, b) => ranked.get(b.blockId)!.rank - ranked.get(a.blockId)!.rank || (a.blockId < b.blockId ? -1 : 1))[0];
          if (best) used.add(best.blockId);
          return { version: shadow.version, ...(best ? { chosenBlockId: best.blockId } : {}), scores };
        }),
      );
    } catch (err) {
      console.warn(`shadow ${shadow.version} failed:`, err instanceof Error ? err.message : err);
    }
  }
  return perShadow;
}
