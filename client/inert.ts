// The client's second line of defence for block HTML. The Worker serves block HTML sanitised
// (worker/sanitize/); the client still inserts it inertly: parsed through a <template> (whose
// content runs nothing), then every element and attribute outside the block HTML policy
// (worker/sanitize/policy.ts, the same allow-list, checked here per tag without enumerated
// values) is dropped before the fragment enters the page. It ships in nb-extras.js, which nb.js
// loads beside its first decide (the policy alone would not fit nb.js's 5 KB budget).
import { ALLOWED_TAGS, GLOBAL_ATTRIBUTES, RELATIVE_ONLY, TAG_ATTRIBUTES, URL_ATTRIBUTES, URL_SCHEMES } from "../worker/sanitize/policy.ts";

/** Parses block HTML into a fragment that can be inserted safely (see parseBlock). */
export type ParseBlock = (html: string, doc?: Document) => DocumentFragment;

/**
 * True when an attribute may stay: allowed on its element, and if it holds URLs, each names an
 * allowed scheme or none (a same-origin-only one: neither a scheme nor `//host`). ASCII
 * whitespace and controls are dropped first, as browsers do when they parse a URL.
 */
function keeps(tag: string, { name, value }: Attr): boolean {
  if (!GLOBAL_ATTRIBUTES.includes(name) && !/^aria-/.test(name) && !TAG_ATTRIBUTES[tag]?.includes(name)) return false;
  return (
    !URL_ATTRIBUTES.includes(name) ||
    value.split(",").every((url) => {
      const clean = url.replace(/[\0- \x7f]/g, "");
      const scheme = /^([a-z][\w+.-]*):/i.exec(clean)?.[1]?.toLowerCase();
      return RELATIVE_ONLY[tag] == name ? !scheme && !/^[\\/]{2}/.test(clean) : !scheme || URL_SCHEMES.includes(scheme);
    })
  );
}

/**
 * Parses block HTML into an inert fragment holding only what the block HTML policy allows:
 * elements outside it are removed with their content, attributes outside it (every `on…`
 * handler, `style`, `id`…) and URLs with another scheme (`javascript:`, `data:`…) are dropped.
 */
export const parseBlock: ParseBlock = (html, doc = document) => {
  const template = doc.createElement("template");
  template.innerHTML = html;
  const fragment = template.content;
  for (const element of fragment.querySelectorAll("*")) {
    // Only HTML elements: an SVG or MathML element never stays, whatever its name.
    if (element.namespaceURI != template.namespaceURI || !ALLOWED_TAGS.includes(element.localName)) element.remove();
    else for (const attribute of [...element.attributes]) if (!keeps(element.localName, attribute)) element.removeAttribute(attribute.name);
  }
  return fragment;
};
