/**
 * A decided block's links, mapped as the page's own are: a block inserted into a slot is not read
 * again by the page's link mapping (link-stream.ts maps the origin's bytes before the rewriter, and
 * HTMLRewriter does not run its handlers on content it inserts), so without this a block's
 * `<a href="/shoes.html">` under `PROXY_PREFIX=/edge` would take the visitor out of the proxy.
 */
import { concat } from "./bytes.ts";
import { linkMapper } from "./link-stream.ts";
import type { LinkRewrite } from "./rewrite.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * `html` (a sanitised block, UTF-8 text) with each `<a href>`, `<area href>` and `<form action>`
 * value that starts with `/` or names `links.origin` passed through `links.map`, by the same
 * tokenizer pass as the page (so the same tags and values change, everything else byte for byte).
 */
export function blockLinksMapped(html: string, links: LinkRewrite): string {
  if (!html.includes("/")) return html; // no URL that could change: skip the tokenizer
  const mapper = linkMapper(links, "utf-8");
  const parts = [mapper.write(encoder.encode(html)), mapper.end()].filter((p): p is Uint8Array => !!p?.length);
  return decoder.decode(concat(parts));
}
