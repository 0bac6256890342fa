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

/** Mapped blocks by mapping key and HTML, per isolate (as sanitising is): a catalog's blocks are tokenized once, not per request. */
const memo = new Map<string, string>();
let memoChars = 0;
/** ~4 MB of UTF-16 at most; the memo starts afresh past it. */
const MEMO_MAX_CHARS = 2_000_000;

/**
 * `html` (a sanitised block, UTF-8 text) with each `<a href>`, `<area href>` and `<form action>`
 * value that starts with `/` or names `links.origin` passed through `links.map`, by the same
 * tokenizer pass as the page (so the same tags and values change, everything else byte for byte).
 * Remembered per isolate under `links.mappingKey` when there is one.
 */
export function blockLinksMapped(html: string, links: LinkRewrite): string {
  if (!html.includes("/")) return html; // no URL that could change: skip the tokenizer
  const key = links.mappingKey === undefined ? undefined : `${links.mappingKey}\n${html}`;
  const known = key === undefined ? undefined : memo.get(key);
  if (known !== undefined) return known;
  const mapper = linkMapper(links, "utf-8");
  const parts = [mapper.write(encoder.encode(html)), mapper.end()].filter((p): p is Uint8Array => !!p?.length);
  const mapped = decoder.decode(concat(parts));
  if (key !== undefined) {
    const chars = key.length + mapped.length;
    if (memoChars + chars > MEMO_MAX_CHARS) memo.clear(), (memoChars = 0);
    memo.set(key, mapped);
    memoChars += chars;
  }
  return mapped;
}
