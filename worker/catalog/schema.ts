import { z } from "zod";
import { capSchema } from "../guardrails/caps.ts";
import { conditionSchema } from "../guardrails/condition.ts";
import { MAX_PATTERN_LENGTH, urlPatternProblem } from "../patterns/url-pattern.ts";

const id = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, "lowercase letters, digits, - and _ (max 64)");

const isoTime = z.iso.datetime({ offset: true });
const country = z.string().regex(/^[A-Z]{2}$/, "ISO 3166-1 alpha-2 country code, upper case");

const urlPattern = z
  .string()
  .min(1)
  .max(MAX_PATTERN_LENGTH)
  .superRefine((p, ctx) => {
    const problem = urlPatternProblem(p);
    if (problem) ctx.addIssue({ code: "custom", message: `not an accepted URL pattern: ${problem}` });
  });

/** Rules a block carries itself (all optional; absent means no restriction). */
export const blockRulesSchema = z.object({
  /** Consent purposes the block needs besides `personalization` (e.g. `marketing`). */
  consentPurposes: z.array(z.string().min(1).max(32)).max(8).optional(),
  startAt: isoTime.optional(),
  endAt: isoTime.optional(),
  /** Only in these countries (from the request's `cf.country`). */
  countries: z.array(country).max(300).optional(),
  excludeCountries: z.array(country).max(300).optional(),
  devices: z.array(z.enum(["mobile", "tablet", "desktop"])).min(1).optional(),
  /**
   * Path patterns, e.g. `/shoes*` or `/products/:id` (the safe part of URLPattern's pathname
   * syntax, worker/patterns/url-pattern.ts); the page must match one. Regular-expression groups
   * are refused.
   */
  urlPatterns: z.array(urlPattern).max(50).optional(),
  /** Tags the page must all carry (`signals.pageTags`). */
  pageTags: z.array(z.string().min(1).max(64)).max(20).optional(),
  /** A JSON Logic condition over the signals (see guardrails/condition.ts). */
  condition: conditionSchema.optional(),
  /** Frequency caps of this block (in addition to the guardrail configuration's). */
  caps: z.array(capSchema).max(10).optional(),
});

/**
 * Where a block is in its review (worker/catalog-admin/workflow.ts): `draft` → `approved` →
 * `live`, or `archived`. Only `approved` and `live` blocks serve; a block without a status (a
 * catalog written by hand, the demo catalog) is `live`.
 */
export const blockStatusSchema = z.enum(["draft", "approved", "live", "archived"]);

/** Who last edited and who approved a block, kept with it so four-eyes can be checked. */
export const blockReviewSchema = z.object({
  /** Catalog version in which the block last changed (its ETag on the admin API). */
  revision: z.number().int().min(1),
  editedBy: z.string().max(128),
  /** Epoch ms. */
  editedAt: z.number(),
  approvedBy: z.string().max(128).optional(),
  approvedAt: z.number().optional(),
});

/** A content block that can be served into one or more slots. */
export const blockContentSchema = z.object({
  id,
  slots: z.array(id).min(1),
  category: z.string().min(1).max(64),
  tags: z.array(z.string().min(1).max(64)).max(32).default([]),
  campaign: z.string().min(1).max(64),
  /** Business priority, used by the rule-based fallback (priority × value). */
  priority: z.number().min(0).max(100),
  /** Value of a conversion on this block, used by arbitration (probability × value). */
  value: z.number().min(0),
  html: z.string().max(20_000),
  rules: blockRulesSchema.optional(),
  /**
   * Custom attributes (e.g. `{ "tier": "gold", "margin": 0.3 }`) that declared model features
   * compare signals with (`block_match` on `attributes.<key>`, docs/features.md).
   */
  attributes: z
    .record(z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "letters, digits, - and _ (max 64)"), z.union([z.string().max(200), z.number(), z.boolean()]))
    .refine((a) => Object.keys(a).length <= 32, "at most 32 attributes")
    .optional(),
});

/** A block with its review state (worker/catalog-admin/workflow.ts). */
export const blockSchema = blockContentSchema.extend({
  status: blockStatusSchema.optional(),
  review: blockReviewSchema.optional(),
  /**
   * An edit of an approved or live block waiting for approval: the block keeps serving what was
   * approved until then (its `editedBy`/`editedAt`/`revision` are the edit's).
   */
  pending: z.object({ content: blockContentSchema, editedBy: z.string().max(128), editedAt: z.number() }).optional(),
});

/** A slot: the block it shows when nothing else may (its default), and whether it is retired. */
export const slotSchema = z.object({
  defaultBlock: id,
  description: z.string().max(500).optional(),
  /** An archived slot is no longer decided (decide answers `unknown_slot` for it). */
  archived: z.boolean().optional(),
});

/** The catalog: slots with their default block, and the blocks. */
export const catalogSchema = z
  .object({
    version: z.number().int().min(1),
    slots: z.record(id, slotSchema),
    blocks: z.array(blockSchema).min(1),
  })
  .superRefine((catalog, ctx) => {
    const byId = new Map<string, z.infer<typeof blockSchema>>();
    catalog.blocks.forEach((block, i) => {
      if (byId.has(block.id)) ctx.addIssue({ code: "custom", path: ["blocks", i, "id"], message: "duplicate block id" });
      byId.set(block.id, block);
    });
    for (const [slot, { defaultBlock }] of Object.entries(catalog.slots)) {
      const block = byId.get(defaultBlock);
      // A default block serves only its own slot, so two slots never compete for it.
      if (!block || block.slots.length !== 1 || block.slots[0] !== slot) {
        ctx.addIssue({
          code: "custom",
          path: ["slots", slot, "defaultBlock"],
          message: `must name a block that serves only slot "${slot}"`,
        });
      }
    }
  });

export type Block = z.infer<typeof blockSchema>;
export type BlockStatus = z.infer<typeof blockStatusSchema>;
export type Slot = z.infer<typeof slotSchema>;
export type BlockRules = z.infer<typeof blockRulesSchema>;
export type Catalog = z.infer<typeof catalogSchema>;
