/**
 * The catalog as served: every block's HTML sanitised with the block HTML policy. The catalog
 * store applies it to each catalog it loads, so the decide answer (client mode) and proxy mode
 * only ever carry sanitised HTML, whoever wrote the catalog and however.
 */
import type { Catalog } from "../catalog/schema.ts";
import { sanitizeBlockHtmlCached } from "./sanitize.ts";

/**
 * Returns `catalog` with each block's `html` sanitised (the same object when nothing changed).
 * Sanitising is remembered per isolate by HTML (sanitizeBlockHtmlCached), so reloading a catalog
 * version costs a lookup per block, never a parse, and no request path parses HTML.
 */
export function withSanitizedHtml(catalog: Catalog): Catalog {
  let changed = false;
  const blocks = catalog.blocks.map((block) => {
    const { html } = sanitizeBlockHtmlCached(block.html);
    if (html === block.html) return block;
    changed = true;
    return { ...block, html };
  });
  return changed ? { ...catalog, blocks } : catalog;
}
