/**
 * The review workflow of catalog blocks and slots, as pure functions over a catalog document:
 * each admin change is applied here, and refused here when the block's state does not allow it.
 *
 * Blocks go `draft` → `approved` → `live`, or to `archived` from any state (and back to `draft`
 * by `restore`). An edit of a draft changes the draft; an edit of an approved or live block is
 * kept `pending` beside it while the block goes on serving what was approved, until the edit is
 * approved (or discarded): what a reviewer approved is exactly what serves, and fixing a typo in
 * a slot's default never leaves the slot without one. With four eyes required, the approver must
 * not be the author of what is approved (the separation of duties compliance teams ask for). Blocks are never deleted, so every
 * id an audit row names stays resolvable; ids never change.
 */
import { z } from "zod";
import { AppError } from "../errors/app-error.ts";
import { blockContentSchema, blockSchema, type Block, type BlockStatus, type Catalog } from "../catalog/schema.ts";

/** What an admin sends for a block: everything but its workflow fields. */
export const blockInputSchema = blockContentSchema.strict();
export type BlockInput = z.infer<typeof blockInputSchema>;

/** What an admin sends for a new slot: its id and its default block (created with it, as a draft). */
export const slotInputSchema = z
  .object({ id: blockSchema.shape.id, description: z.string().max(500).optional(), defaultBlock: blockInputSchema })
  .strict();
/** A slot's changeable members. */
export const slotPatchSchema = z.object({ defaultBlock: blockSchema.shape.id.optional(), description: z.string().max(500).optional() }).strict();

/** One admin change. */
export type CatalogChange =
  | { action: "create_block"; block: BlockInput }
  | { action: "update_block"; id: string; block: BlockInput }
  | { action: "approve" | "publish" | "archive" | "restore" | "discard"; id: string }
  | { action: "create_slot"; slot: z.infer<typeof slotInputSchema> }
  | { action: "update_slot"; id: string; patch: z.infer<typeof slotPatchSchema> }
  | { action: "archive_slot"; id: string };

/** Who changes what, when, in which new version, under which rule. */
export interface ChangeContext {
  actor: string;
  at: number;
  /** The version the change will be saved as. */
  version: number;
  /** Approval must come from someone other than the block's last editor. */
  requireFourEyes: boolean;
}

/** The block's workflow state (a block without one was written by hand and serves: `live`). */
export const statusOf = (block: Block): BlockStatus => block.status ?? "live";

/** The block, or 404. */
export function findBlock(catalog: Catalog, id: string): Block {
  const block = catalog.blocks.find((b) => b.id === id);
  if (!block) throw new AppError("not_found", `no block "${id}" in the catalog`);
  return block;
}

/** What an edit starts from: the pending edit if there is one, else the block's content. */
export function contentOf(block: Block): BlockInput {
  const { status: _s, review: _r, pending, ...content } = block;
  return pending?.content ?? content;
}

/** Content equality: an edit that changes nothing makes no version. */
export function sameContent(a: Block, b: BlockInput): boolean {
  return JSON.stringify(sortKeys(contentOf(a))) === JSON.stringify(sortKeys(b));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(Object.entries(value).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, sortKeys(v)]));
}

const draft = (content: BlockInput, ctx: ChangeContext): Block => ({ ...content, status: "draft", review: { revision: ctx.version, editedBy: ctx.actor, editedAt: ctx.at } });

function checkFourEyes(block: Block, author: string, ctx: ChangeContext): void {
  // Actors are labels (an e-mail address, a name): "Ana" and "ana " are the same person.
  const same = (a: string) => a.trim().toLowerCase();
  if (ctx.requireFourEyes && same(ctx.actor) === same(author)) {
    throw new AppError("forbidden", `four eyes: block "${block.id}" was last edited by "${ctx.actor}"; another actor (X-Nextbest-Actor) must approve it`);
  }
}

/** Approves a pending edit: its content serves from now on, in the block's state. */
function approvePending(block: Block, ctx: ChangeContext): Block {
  const pending = block.pending!;
  checkFourEyes(block, pending.editedBy, ctx);
  const status = statusOf(block) === "approved" ? "approved" : "live";
  return { ...pending.content, status, review: { revision: ctx.version, editedBy: pending.editedBy, editedAt: pending.editedAt, approvedBy: ctx.actor, approvedAt: ctx.at } };
}

/** Moves a block to `to`, checking it may go there from where it is. */
function transition(block: Block, to: BlockStatus, ctx: ChangeContext): Block {
  const from = statusOf(block);
  if (to === "approved" && block.pending) return approvePending(block, ctx);
  const allowed: Record<BlockStatus, BlockStatus[]> = { approved: ["draft"], live: ["approved"], archived: ["draft", "approved", "live"], draft: ["archived"] };
  if (!allowed[to].includes(from)) {
    const hint = to === "live" && from === "draft" ? ": approve it first" : from === "archived" ? ": restore it first" : "";
    throw new AppError("conflict", `block "${block.id}" is ${from}; it cannot become ${to}${hint}`);
  }
  const review = block.review ?? { revision: ctx.version, editedBy: "unknown", editedAt: ctx.at };
  if (to === "approved") {
    checkFourEyes(block, review.editedBy, ctx);
    return { ...block, status: to, review: { ...review, revision: ctx.version, approvedBy: ctx.actor, approvedAt: ctx.at } };
  }
  if (to === "draft") {
    // Restored: whoever restores it is its editor now, and it needs a new approval.
    return { ...block, status: to, review: { revision: ctx.version, editedBy: ctx.actor, editedAt: ctx.at } };
  }
  const { pending: _, ...rest } = block; // archiving drops an edit waiting for approval
  return { ...rest, status: to, review: { ...review, revision: ctx.version } };
}

const TARGET: Record<"approve" | "publish" | "archive" | "restore", BlockStatus> = { approve: "approved", publish: "live", archive: "archived", restore: "draft" };

function replaceBlock(catalog: Catalog, block: Block): Catalog {
  return { ...catalog, blocks: catalog.blocks.map((b) => (b.id === block.id ? block : b)) };
}

function slotOf(catalog: Catalog, id: string) {
  const slot = Object.hasOwn(catalog.slots, id) ? catalog.slots[id] : undefined;
  if (!slot) throw new AppError("not_found", `no slot "${id}" in the catalog`);
  return slot;
}

/**
 * Applies one change; the result is the next catalog (with `ctx.version`), not yet validated
 * against serving (validate.ts). Throws AppError: `not_found` (unknown block or slot),
 * `conflict` (an id taken, a state that does not allow the change), `forbidden` (four eyes).
 */
export function applyChange(catalog: Catalog, change: CatalogChange, ctx: ChangeContext): Catalog {
  const next = { ...catalog, version: ctx.version };
  switch (change.action) {
    case "create_block": {
      if (catalog.blocks.some((b) => b.id === change.block.id)) throw new AppError("conflict", `block "${change.block.id}" exists (ids are never reused, archived ones included)`);
      return { ...next, blocks: [...catalog.blocks, draft(change.block, ctx)] };
    }
    case "update_block": {
      const block = findBlock(catalog, change.id);
      if (change.block.id !== change.id) throw new AppError("invalid_catalog", `id: block ids never change (got "${change.block.id}" for "${change.id}")`);
      const status = statusOf(block);
      if (status === "archived") throw new AppError("conflict", `block "${change.id}" is archived: restore it first`);
      if (status === "draft") return replaceBlock(next, draft(change.block, ctx));
      const review = { ...(block.review ?? { editedBy: "unknown", editedAt: ctx.at }), revision: ctx.version };
      return replaceBlock(next, { ...block, review, pending: { content: change.block, editedBy: ctx.actor, editedAt: ctx.at } });
    }
    case "discard": {
      const block = findBlock(catalog, change.id);
      if (!block.pending) throw new AppError("conflict", `block "${change.id}" has no edit waiting for approval`);
      const { pending: _, ...rest } = block;
      return replaceBlock(next, { ...rest, review: { ...(rest.review ?? { editedBy: "unknown", editedAt: ctx.at }), revision: ctx.version } });
    }
    case "approve":
    case "publish":
    case "archive":
    case "restore":
      return replaceBlock(next, transition(findBlock(catalog, change.id), TARGET[change.action], ctx));
    case "create_slot": {
      const { id, description, defaultBlock } = change.slot;
      if (Object.hasOwn(catalog.slots, id)) throw new AppError("conflict", `slot "${id}" exists`);
      if (catalog.blocks.some((b) => b.id === defaultBlock.id)) throw new AppError("conflict", `block "${defaultBlock.id}" exists (ids are never reused, archived ones included)`);
      const slot = { defaultBlock: defaultBlock.id, ...(description !== undefined ? { description } : {}) };
      return { ...next, slots: { ...catalog.slots, [id]: slot }, blocks: [...catalog.blocks, draft(defaultBlock, ctx)] };
    }
    case "update_slot": {
      const slot = slotOf(catalog, change.id);
      return { ...next, slots: { ...catalog.slots, [change.id]: { ...slot, ...change.patch } } };
    }
    case "archive_slot": {
      const slot = slotOf(catalog, change.id);
      if (slot.archived) throw new AppError("conflict", `slot "${change.id}" is archived already`);
      return { ...next, slots: { ...catalog.slots, [change.id]: { ...slot, archived: true } } };
    }
  }
}
