/**
 * The part of a catalog that may serve: what the decide path sees. Computed once per catalog
 * version read from KV (store.ts), never per request, so the decide path pays nothing for the
 * review workflow (worker/catalog-admin/).
 */
import type { Block, BlockStatus, Catalog } from "./schema.ts";

/** Statuses whose blocks serve; a block without a status (written by hand) serves. */
const SERVING: ReadonlySet<BlockStatus | undefined> = new Set([undefined, "approved", "live"]);

/** True when the block may be served (its review is done and it is not archived). */
export function isServable(block: Pick<Block, "status">): boolean {
  return SERVING.has(block.status);
}

/**
 * The serving view of a catalog: only the slots that are not archived and whose default block is
 * servable (a slot without a default cannot be decided), and the servable blocks of those slots
 * (what they were approved as: an edit waiting for approval is left out). Pure.
 */
export function servingCatalog(catalog: Catalog): Catalog {
  const servable = catalog.blocks.filter(isServable);
  const ids = new Set(servable.map((b) => b.id));
  const slots = Object.fromEntries(Object.entries(catalog.slots).filter(([, s]) => !s.archived && ids.has(s.defaultBlock)));
  const blocks = servable.filter((b) => b.slots.some((s) => Object.hasOwn(slots, s))).map(({ pending: _, ...b }) => b);
  return { ...catalog, slots, blocks };
}
