/**
 * The block HTML policy: one allow-list, as data, shared by the Worker's sanitiser
 * (worker/sanitize/sanitize.ts, sanitize-html) and the client's inert insertion (client/render.ts).
 * Anything not named here is removed. Why each gap is closed (OWASP XSS Filter Evasion Cheat
 * Sheet and HTML5 Security Cheatsheet vectors, see test/worker/sanitize.test.ts):
 *
 * - No element that runs or loads active content: script, style, link, meta, base, iframe,
 *   frame, object, embed, applet, template, noscript, svg, math (their links, animations and
 *   foreign-content parsing are script vectors), textarea, title, xmp (raw-text parsing tricks).
 * - No `on*` event handler, no `style` (CSS overlays and `url()`), no `id` and no `name` on what
 *   can clobber `document` properties (DOM clobbering), no `data-*` but our own `data-nb-intent`
 *   (framework script gadgets read `data-bind`, `x-init`, `hx-*`…).
 * - URL attributes (URL_ATTRIBUTES) carry only URL_SCHEMES or relative URLs; `form action` only
 *   a relative URL (`/subscribe`, never `//other.example` or `https:`), so a form can never post
 *   to another origin.
 */

/** Elements a block may contain. Lower case HTML names; no SVG or MathML. */
export const ALLOWED_TAGS: readonly string[] = [
  "a", "abbr", "address", "article", "aside", "b", "bdi", "bdo", "blockquote", "br", "button",
  "caption", "cite", "code", "col", "colgroup", "dd", "del", "details", "dfn", "div", "dl", "dt",
  "em", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6",
  "header", "hgroup", "hr", "i", "img", "input", "ins", "kbd", "label", "legend", "li", "mark",
  "nav", "ol", "optgroup", "option", "p", "picture", "pre", "q", "rp", "rt", "ruby", "s", "samp",
  "section", "select", "small", "source", "span", "strong", "sub", "summary", "sup", "table",
  "tbody", "td", "tfoot", "th", "thead", "time", "tr", "u", "ul", "var", "wbr",
];

/** Attributes allowed on every allowed element (`aria-*`: any ARIA attribute). */
export const GLOBAL_ATTRIBUTES: readonly string[] = ["class", "title", "lang", "dir", "role", "hidden", "aria-*", "data-nb-intent"];

/** Attributes allowed on some elements only, besides GLOBAL_ATTRIBUTES. */
export const TAG_ATTRIBUTES: Readonly<Record<string, readonly string[]>> = {
  a: ["href", "target", "rel", "hreflang"],
  img: ["src", "srcset", "sizes", "alt", "width", "height", "loading", "decoding"],
  source: ["src", "srcset", "sizes", "media", "type", "width", "height"],
  form: ["action", "method", "autocomplete"],
  input: ["type", "name", "value", "placeholder", "required", "checked", "disabled", "min", "max", "step", "maxlength", "minlength", "autocomplete", "inputmode", "size", "readonly"],
  button: ["type", "name", "value", "disabled"],
  select: ["name", "required", "disabled", "multiple", "size"],
  option: ["value", "selected", "disabled", "label"],
  optgroup: ["label", "disabled"],
  label: ["for"],
  fieldset: ["disabled"],
  td: ["colspan", "rowspan", "headers"],
  th: ["colspan", "rowspan", "headers", "scope", "abbr"],
  col: ["span"],
  colgroup: ["span"],
  ol: ["start", "reversed", "type"],
  li: ["value"],
  time: ["datetime"],
  del: ["datetime", "cite"],
  ins: ["datetime", "cite"],
  q: ["cite"],
  blockquote: ["cite"],
  details: ["open"],
};

/** Allowed values of enumerated attributes (anything else drops the attribute). */
export const ATTRIBUTE_VALUES: Readonly<Record<string, Readonly<Record<string, readonly string[]>>>> = {
  a: { target: ["_blank", "_self"] },
  form: { method: ["get", "post"] },
  button: { type: ["submit", "button", "reset"] },
  input: {
    type: ["text", "email", "tel", "number", "search", "checkbox", "radio", "hidden", "submit", "reset", "button", "date", "url", "range"],
  },
};

/** Attributes holding a URL the browser loads or navigates to: their scheme is checked. */
export const URL_ATTRIBUTES: readonly string[] = [
  "href", "src", "srcset", "action", "formaction", "cite", "poster", "xlink:href", "background", "data", "ping",
  "longdesc", "usemap", "codebase", "classid", "archive", "profile", "manifest", "itemid", "dynsrc", "lowsrc",
];

/** Schemes a URL attribute may name (relative URLs are always allowed, but see RELATIVE_ONLY). */
export const URL_SCHEMES: readonly string[] = ["http", "https", "mailto", "tel"];

/** Element → URL attribute that may hold only a same-origin (relative, not `//host`) URL. */
export const RELATIVE_ONLY: Readonly<Record<string, string>> = { form: "action" };
