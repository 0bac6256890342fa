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
 * Mapped blocks per isolate (as sanitising is): by mapping key, then by block HTML, so no key is
 * built per lookup and no two mappings can share an entry. A block the mapping leaves as it is
 * keeps the same string (no copy).
 */
const memo = new Map<string, Map<string, string>>();
let memoChars = 0;
/** ~8 MB of UTF-16 at most, as the sanitiser's memo: 100 of the largest blocks (20,000 characters) or thousands of typical ones; it starts afresh past that. */
const MEMO_MAX_CHARS = 4_000_000;

/**
 * `html` (a sanitised block, UTF-8 text) with each `<a href>`, `<area href>` and `<form action>`
 * value that starts with `/` or names `links.origin` passed through `links.map`, by the same
 * tokenizer pass as the page (so the same tags and values change, everything else byte for byte).
 * Remembered per isolate under `links.mappingKey` when there is one.
 */
export function blockLinksMapped(html: string, links: LinkRewrite): string {
  if (!html.includes("/")) return html; // no URL that could change: skip the tokenizer
  const byHtml = links.mappingKey === undefined ? undefined : memo.get(links.mappingKey);
  const known = byHtml?.get(html);
  if (known !== undefined) return known;
  const mapper = linkMapper(links, "utf-8");
  const parts = [mapper.write(encoder.encode(html)), mapper.end()].filter((p): p is Uint8Array => !!p?.length);
  const decoded = decoder.decode(concat(parts));
  const mapped = decoded === html ? html : decoded;
  if (links.mappingKey !== undefined) {
    const entryChars = html.length + (mapped === html ? 0 : mapped.length);
    let entries = memo.get(links.mappingKey);
    // A new mapping's key is counted too (it holds the request's origin: many hosts, many keys).
    if (memoChars + entryChars + (entries ? 0 : links.mappingKey.length) > MEMO_MAX_CHARS) memo.clear(), (memoChars = 0), (entries = undefined);
    if (!entries) memo.set(links.mappingKey, (entries = new Map())), (memoChars += links.mappingKey.length);
    entries.set(html, mapped);
    memoChars += entryChars;
  }
  return mapped;
}
