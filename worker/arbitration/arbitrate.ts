/**
 * Arbitration across outcomes: one priority per block from the propensities of every active
 * outcome model, the block's value, a context weight and the business levers
 * (worker/arbitration/config.ts gives the formula). Pure; every factor is returned so `debug`
 * and the audit log show why a block won.
 */
import jsonLogic from "json-logic-js";
import type { Block } from "../catalog/schema.ts";
import type { Signals } from "../ranking/signals.ts";
import type { ArbitrationConfig } from "./config.ts";

/** Every factor of one block's priority. */
export interface ArbitrationFactors {
  /** The formula applied, e.g. `Π p_o^w_o × value × contextWeight × lever`. */
  formula: string;
  /** Propensity per outcome (the model's score). */
  propensities: Record<string, number>;
  /** Weight per outcome after the block's tag overrides. */
  weights: Record<string, number>;
  /** The block's value, or 1 when `useValue` is off. */
  value: number;
  contextWeight: number;
  /** block × campaign × tags levers. */
  lever: number;
  priority: number;
}

const FORMULAS = {
  product: "priority = Π_o p_o^w_o × value × contextWeight × lever",
  sum: "priority = (Σ_o w_o·p_o) × value × contextWeight × lever",
} as const;

/** The formula text of a configuration. */
export const formulaOf = (config: ArbitrationConfig): string => FORMULAS[config.combine];

function weightsFor(config: ArbitrationConfig, block: Block, outcomes: string[]): Record<string, number> {
  const w: Record<string, number> = {};
  for (const o of outcomes) w[o] = Object.hasOwn(config.weights, o) ? config.weights[o]! : 1;
  for (const tag of block.tags) {
    const over = Object.hasOwn(config.byTag, tag) ? config.byTag[tag]! : undefined;
    if (over) for (const o of outcomes) if (Object.hasOwn(over, o)) w[o] = over[o]!;
  }
  return w;
}

function leverOf(config: ArbitrationConfig, block: Block): number {
  const { blocks, campaigns, tags } = config.levers;
  let l = (Object.hasOwn(blocks, block.id) ? blocks[block.id]! : 1) * (Object.hasOwn(campaigns, block.campaign) ? campaigns[block.campaign]! : 1);
  for (const t of block.tags) if (Object.hasOwn(tags, t)) l *= tags[t]!;
  return l;
}

function contextWeightOf(config: ArbitrationConfig, signals: Signals, block: Block, propensities: Record<string, number>): number {
  if (config.contextWeight === undefined) return 1;
  const data = {
    ...signals,
    block: { id: block.id, category: block.category, campaign: block.campaign, tags: block.tags, value: block.value, attributes: block.attributes ?? {} },
    propensity: propensities,
  };
  let result: unknown;
  try {
    result = jsonLogic.apply(config.contextWeight, data);
  } catch {
    return 1;
  }
  if (typeof result === "boolean") return result ? 1 : 0;
  return typeof result === "number" && Number.isFinite(result) && result >= 0 ? result : 1;
}

/**
 * The priority of each block. `propensities` gives, per block id, the score of each outcome
 * model; a block missing an outcome is arbitrated on the outcomes it has.
 */
export function arbitrate(config: ArbitrationConfig, blocks: readonly Block[], propensities: ReadonlyMap<string, Record<string, number>>, signals: Signals): Map<string, ArbitrationFactors> {
  const formula = formulaOf(config);
  const out = new Map<string, ArbitrationFactors>();
  for (const block of blocks) {
    const p = propensities.get(block.id) ?? {};
    const outcomes = Object.keys(p);
    const weights = weightsFor(config, block, outcomes);
    let combined: number;
    if (config.combine === "sum") combined = outcomes.reduce((s, o) => s + weights[o]! * p[o]!, 0);
    // A weight 0 ignores the outcome; a tiny floor keeps p = 0 with a negative weight finite.
    else combined = outcomes.reduce((s, o) => (weights[o] === 0 ? s : s * Math.max(p[o]!, 1e-9) ** weights[o]!), 1);
    const value = config.useValue ? block.value : 1;
    const contextWeight = contextWeightOf(config, signals, block, p);
    const lever = leverOf(config, block);
    out.set(block.id, { formula, propensities: p, weights, value, contextWeight, lever, priority: combined * value * contextWeight * lever });
  }
  return out;
}
