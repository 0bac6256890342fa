import { z } from "zod";

const id = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, "lowercase letters, digits, - and _ (max 64)");

/** A content block that can be served into one or more slots. */
export const blockSchema = z.object({
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
});

/** The catalog: slots with their default block, and the blocks. */
export const catalogSchema = z
  .object({
    version: z.number().int().min(1),
    slots: z.record(id, z.object({ defaultBlock: id })),
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
export type Catalog = z.infer<typeof catalogSchema>;
