/**
 * Turns the per-slot picks into the answer (decisions), the trace the audit log stores, and the
 * debug explanation. Pure.
 */
import type { ArbitrationFactors } from "../arbitration/arbitrate.ts";
import type { Block, Catalog } from "../catalog/schema.ts";
import type { Exclusion } from "../guardrails/reasons.ts";
import type { RuleResult } from "../guardrails/rules.ts";
import type { Ranked } from "./rank.ts";
import type { Decision, DecisionReason } from "./schema.ts";
import type { RankedOption, SlotPick } from "./select.ts";
import type { ShadowChoice } from "./shadow.ts";

/** Everything the audit log needs to explain and replay one slot's decision. */
export interface SlotTrace {
  slot: string;
  decisionId: string;
  /** Every block that could serve this slot. */
  candidates: string[];
  /** The blocks the served one was drawn from (after every exclusion), best first. */
  pool: string[];
  excluded: Exclusion[];
  chosenBlockId: string;
  reason: DecisionReason;
  propensity: number;
  explored: boolean;
  /** In a control group: the universal one, or the holdout of the campaign the model preferred. */
  holdoutScope?: "universal" | "campaign";
  /** For holdouts: the block the model would have chosen. */
  counterfactualBlockId?: string;
  shadows: ShadowChoice[];
  /** The visitor's view count of the served block, this one included (from the visitor's history). */
  exposure?: number;
}

/** Per-candidate explanation, returned with `debug: true`. */
export interface CandidateDebug {
  blockId: string;
  rules: RuleResult[];
  score?: number;
  rank?: number;
  /** The formula and every factor of `rank`, when configured arbitration ranked. */
  arbitration?: ArbitrationFactors;
  excluded?: Exclusion;
}

/** What assembly needs besides the picks. */
export interface AssemblyInput {
  catalog: Catalog;
  /** Candidates of the request's slots (before any rule). */
  candidates: Block[];
  ruleResults: Map<string, RuleResult[]>;
  /** Exclusions by request-level rules and campaign holdouts, per block. */
  requestExclusions: Map<string, Exclusion>;
  ranked: Map<string, Ranked>;
  options: RankedOption[][];
  picks: SlotPick[];
  /** Per slot, what the model would have served with no control group (for holdouts). */
  counterfactuals?: Array<RankedOption | undefined>;
  universalHoldout: boolean;
  /** Campaigns this visitor is held out of. */
  heldOutCampaigns: Set<string>;
  reason: DecisionReason;
  modelVersion: string | null;
  shadows: ShadowChoice[][];
}

function defaultBlock(catalog: Catalog, slot: string): Block {
  const id = catalog.slots[slot]!.defaultBlock;
  return catalog.blocks.find((b) => b.id === id)!;
}

/** A decision in the public shape. */
export function decision(slot: string, decisionId: string, block: Block, reason: DecisionReason, extra: Partial<Decision> = {}): Decision {
  return { slot, decisionId, block: { id: block.id, html: block.html }, holdout: reason === "holdout", propensity: 1, modelVersion: null, reason, ...extra };
}

/** Assembles decisions, traces and debug output, slot by slot. */
export function assemble(input: AssemblyInput): { decisions: Decision[]; traces: SlotTrace[]; debug: Record<string, CandidateDebug[]> } {
  const { catalog, picks } = input;
  const decisions: Decision[] = [];
  const traces: SlotTrace[] = [];
  const debug: Record<string, CandidateDebug[]> = {};
  picks.forEach((p, i) => {
    const slot = p.slot;
    const slotCandidates = input.candidates.filter((b) => b.slots.includes(slot));
    const excluded = [...slotCandidates.flatMap((b) => input.requestExclusions.get(b.id) ?? []), ...p.excluded];
    const dropped = new Set(p.excluded.map((e) => e.blockId));
    const pool = input.options[i]!.filter((o) => !dropped.has(o.blockId)).map((o) => o.blockId);
    const chosen = input.universalHoldout || !p.pick ? defaultBlock(catalog, slot) : catalog.blocks.find((b) => b.id === p.pick!.blockId)!;
    const why: DecisionReason = input.universalHoldout ? "holdout" : p.pick ? input.reason : "default";
    const modelChoice = input.counterfactuals?.[i];
    const campaignHeldOut = !input.universalHoldout && modelChoice !== undefined && input.heldOutCampaigns.has(modelChoice.campaign);
    const served = why === "ranked" || why === "fallback";
    decisions.push(
      decision(slot, p.decisionId, chosen, why, served
        ? { propensity: p.propensity, modelVersion: input.modelVersion, ...(p.pick?.score !== undefined ? { score: p.pick.score } : {}), ...(p.explored ? { explored: true } : {}) }
        : {}),
    );
    traces.push({
      slot,
      decisionId: p.decisionId,
      candidates: slotCandidates.map((b) => b.id),
      pool: input.universalHoldout ? input.options[i]!.map((o) => o.blockId) : pool,
      excluded,
      chosenBlockId: chosen.id,
      reason: why,
      propensity: served ? p.propensity : 1,
      explored: served && p.explored,
      ...(input.universalHoldout ? { holdoutScope: "universal" as const } : campaignHeldOut ? { holdoutScope: "campaign" as const } : {}),
      ...(input.universalHoldout && p.pick ? { counterfactualBlockId: p.pick.blockId } : campaignHeldOut ? { counterfactualBlockId: modelChoice.blockId } : {}),
      shadows: input.shadows.map((perSlot) => perSlot[i]!),
      ...(!input.universalHoldout && p.pick && p.exposure ? { exposure: p.exposure } : {}),
    });
    debug[slot] = slotCandidates.map((b) => {
      const r = input.ranked.get(b.id);
      const ex = excluded.find((e) => e.blockId === b.id);
      return { blockId: b.id, rules: input.ruleResults.get(b.id) ?? [], ...(r?.score !== undefined ? { score: r.score } : {}), ...(r ? { rank: r.rank } : {}), ...(r?.arbitration ? { arbitration: r.arbitration } : {}), ...(ex ? { excluded: ex } : {}) };
    });
  });
  return { decisions, traces, debug };
}
