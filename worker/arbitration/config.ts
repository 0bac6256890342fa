/**
 * The arbitration configuration: how the propensities of several outcomes (click, conversion,
 * churn, expansion, custom events — one active model each) become one priority per block.
 * Saved and versioned inside the guardrail configuration (`arbitration`, worker/guardrails/),
 * so it has the same history, who/when and rollback. Documented in docs/API.md, "Arbitration".
 *
 *   product: priority = Π_o p_o^w_o × value × contextWeight × lever
 *   sum:     priority = (Σ_o w_o · p_o) × value × contextWeight × lever
 *
 * The form follows Pega Customer Decision Hub's "Propensity × Context weight × Value × Lever"
 * (Pega, "Prioritization formula in Next-Best-Action Designer"), with a weight per outcome.
 */
import { z } from "zod";
import { conditionSchema } from "../guardrails/condition.ts";
import { outcomeSchema } from "../ranking/manifest.ts";

const name = z.string().min(1).max(64);
/** A weight of an outcome: the exponent (product) or the coefficient (sum). */
const weight = z.number().min(-100).max(100);
/** A business lever: a multiplier ≥ 0 set by marketers (0 switches a block off in ranking). */
const lever = z.number().min(0).max(1_000);
const levers = z.record(name, lever).refine((r) => Object.keys(r).length <= 1_000, "at most 1000 levers");

export const arbitrationSchema = z
  .object({
    /** How weighted outcome propensities combine. */
    combine: z.enum(["product", "sum"]).default("product"),
    /** Weight per outcome; an outcome not listed weighs 1. */
    weights: z.record(outcomeSchema, weight).refine((r) => Object.keys(r).length <= 16, "at most 16 outcomes").default({}),
    /**
     * Weights for blocks carrying a tag, e.g. `{ "retention": { "churn": 2 } }`: overrides of
     * every tag of the block apply in the block's tag order (a later tag wins for one outcome).
     */
    byTag: z.record(name, z.record(outcomeSchema, weight)).refine((r) => Object.keys(r).length <= 100, "at most 100 tags").default({}),
    /** Multiply by the block's `value` (its worth when the outcome happens). */
    useValue: z.boolean().default(true),
    /**
     * Context weight: a JSON Logic expression (same operators and size bounds as conditions)
     * evaluated per block over the signals, plus `block` (id, category, campaign, tags, value,
     * attributes) and `propensity` (per outcome). A number ≥ 0 is used; anything else counts 1.
     */
    contextWeight: conditionSchema.optional(),
    /** Business levers, multiplied: the block's × its campaign's × each of its tags'. */
    levers: z
      .object({ blocks: levers.default({}), campaigns: levers.default({}), tags: levers.default({}) })
      .strict()
      .default({ blocks: {}, campaigns: {}, tags: {} }),
  })
  .strict();

export type ArbitrationConfig = z.infer<typeof arbitrationSchema>;

/** Today's arbitration: click propensity × value, nothing else. */
export const DEFAULT_ARBITRATION: ArbitrationConfig = arbitrationSchema.parse({});

/** True when the configuration is the default (decide then keeps its single-model fast path). */
export function isDefaultArbitration(a: ArbitrationConfig | undefined): boolean {
  if (!a) return true;
  return (
    a.combine === "product" &&
    Object.values(a.weights).every((w) => w === 1) &&
    Object.keys(a.byTag).length === 0 &&
    a.useValue &&
    a.contextWeight === undefined &&
    Object.keys(a.levers.blocks).length + Object.keys(a.levers.campaigns).length + Object.keys(a.levers.tags).length === 0
  );
}
