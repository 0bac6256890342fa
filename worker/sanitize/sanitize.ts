/**
 * Block HTML sanitising on the Worker, with sanitize-html (htmlparser2-based, maintained by
 * ApostropheCMS; runs in workerd with nodejs_compat) configured from the one allow-list policy in
 * ./policy.ts. Every block's HTML goes through here before it is served (catalog load, proxy
 * insertion) or saved (catalog admin), so neither the decide answer nor proxy mode ever carries
 * HTML that can run script.
 */
import sanitizeHtml from "sanitize-html";
import { ALLOWED_TAGS, ATTRIBUTE_VALUES, GLOBAL_ATTRIBUTES, RELATIVE_ONLY, TAG_ATTRIBUTES, URL_ATTRIBUTES, URL_SCHEMES } from "./policy.ts";

/** One thing the sanitiser removed, for the marketer who wrote the block. */
export interface Removal {
  /** `element` (the tag and its raw-text content), `attribute`, or `url` (a URL attribute whose scheme or origin is not allowed). */
  kind: "element" | "attribute" | "url";
  /** What, e.g. `script`, `img onerror`, `a href javascript:`, `form action //other.example`. */
  detail: string;
}

/** The sanitised HTML and what was removed from it (each distinct removal once, in document order). */
export interface SanitizedHtml {
  html: string;
  removed: Removal[];
}

/** Elements dropped with their content when not allowed (raw text, fallback or foreign content). */
const DROPPED_WITH_CONTENT = [
  "script", "style", "textarea", "option", "xmp", "noscript", "noembed", "noframes", "iframe", "frame",
  "frameset", "title", "template", "plaintext", "svg", "math", "object", "embed", "applet", "select",
];

const allowedTags = new Set(ALLOWED_TAGS);
const allowedAttributes: Record<string, string[]> = { "*": [...GLOBAL_ATTRIBUTES] };
for (const [tag, names] of Object.entries(TAG_ATTRIBUTES)) allowedAttributes[tag] = [...names];
const urlAttributes = new Set(URL_ATTRIBUTES);

/** Browsers drop ASCII whitespace and control characters from URLs (WHATWG URL), so we do too before reading the scheme. */
const cleanUrl = (value: string) => value.replace(/[\u0000-\u0020\u007f]/g, "");
const schemeOf = (value: string) => /^([a-z][a-z0-9+.-]*):/i.exec(cleanUrl(value))?.[1]?.toLowerCase();
const isProtocolRelative = (value: string) => /^[\\/]{2}/.test(cleanUrl(value));

/** Why a removed attribute was removed: its URL (scheme or origin) or the attribute itself. */
function describeAttribute(tag: string, name: string, value: string): Removal {
  if (urlAttributes.has(name)) {
    const scheme = schemeOf(value);
    if (scheme && !URL_SCHEMES.includes(scheme)) return { kind: "url", detail: `${tag} ${name} ${scheme}:` };
    // Another origin: say which, so the marketer can see the form would have left the site.
    if (RELATIVE_ONLY[tag] === name && (scheme || isProtocolRelative(value))) return { kind: "url", detail: `${tag} ${name} ${cleanUrl(value).slice(0, 80)}` };
  }
  const allowedValues = ATTRIBUTE_VALUES[tag]?.[name];
  if (allowedValues && !allowedValues.includes(value.trim().toLowerCase())) return { kind: "attribute", detail: `${tag} ${name}=${value.slice(0, 40)}` };
  return { kind: "attribute", detail: `${tag} ${name}` };
}

/**
 * Sanitises one block's HTML with the policy of ./policy.ts: elements not allowed are removed
 * (script, style, iframe, svg, math, object… with their content; others keep their text), as are
 * attributes not allowed (every `on*` handler, `style`, `id`…), URL attributes whose scheme is not
 * http, https, mailto or tel (`javascript:`, `data:`, `vbscript:`, however encoded), and a form
 * `action` that is not a relative URL. Comments are dropped.
 *
 * Pure and deterministic; never throws for any string. Idempotent: sanitising the output again
 * changes nothing and removes nothing.
 */
export function sanitizeBlockHtml(html: string): SanitizedHtml {
  // Each element the parser opens: its attributes as written, and the object sanitize-html then
  // filters in place (an attribute it refuses is deleted from it), so the difference is what went.
  const seen: Array<{ tag: string; written: Record<string, string>; kept: Record<string, string> }> = [];
  const clean = sanitizeHtml(html, {
    allowedTags: ALLOWED_TAGS as string[],
    allowedAttributes,
    allowedSchemes: URL_SCHEMES as string[],
    allowedSchemesByTag: Object.fromEntries(Object.keys(RELATIVE_ONLY).map((tag) => [tag, []])),
    allowedSchemesAppliedToAttributes: URL_ATTRIBUTES as string[],
    allowProtocolRelative: true,
    nonTextTags: DROPPED_WITH_CONTENT,
    disallowedTagsMode: "discard",
    parseStyleAttributes: false,
    transformTags: {
      "*": (tagName, attribs) => {
        const kept: Record<string, string> = { ...attribs };
        for (const [name, value] of Object.entries(attribs)) {
          const allowedValues = ATTRIBUTE_VALUES[tagName]?.[name];
          if (allowedValues && !allowedValues.includes(value.trim().toLowerCase())) delete kept[name];
          // sanitize-html checks schemes only; a same-origin-only URL must not name a host either.
          if (RELATIVE_ONLY[tagName] === name && isProtocolRelative(value)) delete kept[name];
        }
        seen.push({ tag: tagName, written: attribs, kept });
        return { tagName, attribs: kept };
      },
    },
  });
  const removed: Removal[] = [];
  const keys = new Set<string>();
  const add = (removal: Removal) => {
    const key = `${removal.kind}\u0000${removal.detail}`;
    if (!keys.has(key)) keys.add(key), removed.push(removal);
  };
  for (const { tag, written, kept } of seen) {
    if (!allowedTags.has(tag)) {
      add({ kind: "element", detail: tag });
      continue;
    }
    for (const [name, value] of Object.entries(written)) if (!Object.hasOwn(kept, name)) add(describeAttribute(tag, name, value));
  }
  return { html: clean, removed };
}

/** Cache of sanitised HTML by input, per isolate: a catalog is sanitised once, not per request. */
const memo = new Map<string, SanitizedHtml>();
let memoChars = 0;
/** ~8 MB of UTF-16 at most (a Worker isolate has 128 MB): thousands of typical blocks, 100 of the largest (20,000 characters). */
const MEMO_MAX_CHARS = 4_000_000;

/**
 * `sanitizeBlockHtml`, remembered per isolate by input HTML: what the catalog store and proxy
 * insertion call, so the same block is parsed once per isolate, however many catalogs reload it
 * and requests serve it. Bounded: the memo starts afresh past MEMO_MAX_CHARS characters.
 */
export function sanitizeBlockHtmlCached(html: string): SanitizedHtml {
  let result = memo.get(html);
  if (!result) {
    result = sanitizeBlockHtml(html);
    const chars = html.length + result.html.length;
    if (memoChars + chars > MEMO_MAX_CHARS) memo.clear(), (memoChars = 0);
    memo.set(html, result);
    memoChars += chars;
  }
  return result;
}
