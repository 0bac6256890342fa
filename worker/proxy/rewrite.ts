/**
 * Streams an HTML page through HTMLRewriter and fills its `[data-nb-slot]` elements. The page's
 * facts (category, page type, tags, declared slots) are read from its head; the decision for all
 * slots starts once, when `<body>` opens, and only the first slot waits for it — the bytes before
 * it stream as they arrive. If deciding fails or takes longer than the budget, the page streams
 * unchanged.
 */
import { sanitizeBlockHtmlCached } from "../sanitize/sanitize.ts";
import { blockLinksMapped } from "./block-links.ts";
import { linkMappedBody } from "./link-body.ts";

/** What the page says about itself in its head. */
export interface PageFacts {
  category?: string;
  pageType?: string;
  tags?: string[];
  /** From `<meta name="nb:slots" content="hero,sidebar">`. */
  slots?: string[];
}

/** One slot's decided content. */
export interface SlotFill {
  slot: string;
  decisionId: string;
  blockId: string;
  html: string;
  reason: string;
  modelVersion: string | null;
}

export type PageDecider = (facts: PageFacts) => Promise<SlotFill[]>;

/**
 * Link rewriting, so navigation stays behind the proxy: the origin's own links (root-relative, or
 * absolute naming `origin`) are mapped by `map`. The same for every visitor, whatever the consent.
 */
export interface LinkRewrite {
  /** The origin, `https://origin.example`: absolute links starting with it are mapped too. */
  origin: string;
  /** The link as the visitor must see it (unchanged when it does not name the origin). */
  map: (url: string) => string;
  /**
   * Whether root-relative links (`/x`) can change (a prefix or an origin base path). When not,
   * only scheme-relative ones (`//host/x`, `/\\host/x`) are looked at among the links starting with `/`.
   */
  rootRelative: boolean;
  /**
   * The page's identity for replaying its mapping when its bytes come again (link-replay.ts):
   * everything the mapping depends on besides the bytes and the charset (the Worker's origin,
   * the prefix, the origin URL). Absent: the page is tokenized every time.
   */
  pageKey?: string;
  /**
   * What `map` depends on (the Worker's origin, the prefix, the origin URL): a block's mapped
   * HTML is remembered per isolate under it (block-links.ts). Absent: mapped every time.
   */
  mappingKey?: string;
}

export interface RewriteOptions {
  budgetMs: number;
  links?: LinkRewrite;
}

/** Navigation: where a visitor goes by clicking or submitting, and the attribute that says where. */
const LINK_ATTRIBUTE: ReadonlyMap<string, string> = new Map([
  ["a", "href"],
  ["area", "href"],
  ["form", "action"],
]);

/**
 * Adds the link handler for a page whose root-relative links stay as they are (no prefix, no
 * origin base path): only tags whose URL starts with `//`, `/\\` or the origin match the
 * selectors — a few per page —, and a tag is re-serialised only when its URL actually changes.
 * Why not match every root-relative link: each element a handler runs on costs a call into
 * JavaScript and splits the streamed output there (workerd flushes after every handler call,
 * cloudflare/workerd#3776: about one chunk per handled link, each crossing every hop to the
 * visitor). When they all change, link-stream.ts maps them in one tokenizer pass instead.
 * One `on` for all the selectors: the runtime parses each `on`'s selector on every page.
 */
function withLinks(rewriter: HTMLRewriter, links: LinkRewrite): HTMLRewriter {
  const starts = ["//", "/\\\\", links.origin];
  const selector = [...LINK_ATTRIBUTE].flatMap(([tag, attribute]) => starts.map((start) => `${tag}[${attribute}^="${start}"]`)).join(", ");
  return rewriter.on(selector, {
    element(el: Element) {
      const attribute = LINK_ATTRIBUTE.get(el.tagName.toLowerCase());
      const url = attribute === undefined ? null : el.getAttribute(attribute);
      if (url === null) return;
      const mapped = links.map(url);
      if (mapped !== url) el.setAttribute(attribute!, mapped);
    },
  });
}

/** The charset the page's `Content-Type` names ("" when none: the runtime's default, UTF-8). */
function charsetOf(response: Response): string {
  return /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(response.headers.get("content-type") ?? "")?.[1] ?? "";
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`deciding exceeded its ${ms} ms budget`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

const splitList = (v: string | null) =>
  (v ?? "").split(",").map((s) => s.trim().toLowerCase()).filter(Boolean).slice(0, 20);

/** JSON safe to inline in a `<script>` element. */
function inlineJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
}

/**
 * Returns the rewritten, still streaming, response: slots filled when `decidePage` is given,
 * links mapped when `options.links` is (the two are independent).
 */
export function personalizeHtml(response: Response, decidePage: PageDecider | undefined, options: RewriteOptions): Response {
  const { links } = options;
  // When root-relative links change (a prefix, an origin base path) nearly every link does: one
  // tokenizer pass maps them without a handler, and a flush, per link (link-stream.ts).
  // Chunks are gathered only once the decision has started (at `<body>`): the head reaches the
  // rewriter as soon as it arrives.
  let deciding = !decidePage;
  const mapped = links?.rootRelative && response.body ? new Response(linkMappedBody(response.body, links, charsetOf(response), { gather: () => deciding }), response) : response;
  let rewriter = new HTMLRewriter();
  if (links && !links.rootRelative) rewriter = withLinks(rewriter, links);
  if (decidePage) rewriter = withSlots(rewriter, decidePage, options.budgetMs, () => (deciding = true), links);
  else if (mapped !== response) return mapped;
  return rewriter.transform(mapped);
}

/** Adds the slot handlers: page facts from the head, one decision, each slot filled from it (its links mapped by `links`). */
function withSlots(rewriter: HTMLRewriter, decidePage: PageDecider, budgetMs: number, onDeciding: () => void, links: LinkRewrite | undefined): HTMLRewriter {
  const facts: PageFacts = {};
  let decision: Promise<Map<string, SlotFill> | undefined> | undefined;
  const decided = () =>
    (decision ??= withTimeout(decidePage(facts), budgetMs)
      .then((fills) => new Map(fills.map((f) => [f.slot, f])))
      .catch((err) => {
        console.warn("edge decide failed; the page streams unchanged:", err instanceof Error ? err.message : err);
        return undefined;
      }));
  const served = new Map<string, SlotFill>();

  return rewriter
    // One handler for the four facts (each `on`'s selector is parsed on every page); names match
    // exactly, as `meta[name="nb:category"]` did.
    .on('meta[name^="nb:"]', {
      element(el) {
        const c = el.getAttribute("content");
        switch (el.getAttribute("name")) {
          case "nb:category":
            facts.category = c?.trim().toLowerCase().slice(0, 200) || undefined;
            break;
          case "nb:page-type":
            facts.pageType = c?.trim().toLowerCase() || undefined;
            break;
          case "nb:tags":
            facts.tags = splitList(c);
            break;
          case "nb:slots":
            facts.slots = splitList(c).slice(0, 10);
        }
      },
    })
    .on("body", {
      element(el) {
        void decided(); // the head is parsed: start deciding while the body streams
        onDeciding();
        el.onEndTag(async (end) => {
          await decided();
          if (served.size === 0) return;
          // Decision ids for the client script (impressions and clicks without a second decide).
          const ids = [...served.values()].map(({ slot, decisionId, blockId, reason, modelVersion }) => ({ slot, decisionId, blockId, reason, modelVersion }));
          end.before(`<script type="application/json" id="nb-decisions">${inlineJson(ids)}</script>`, { html: true });
        });
      },
    })
    .on("[data-nb-slot]", {
      async element(el) {
        const slot = el.getAttribute("data-nb-slot") ?? "";
        const fill = (await decided())?.get(slot);
        if (!fill) return;
        // Sanitised again where it is inserted: whatever produced the fill, nothing in a slot can
        // run script. Its links mapped as the page's are (block-links.ts): the page's mapping
        // never sees it. Both remembered per isolate, so no parse per request.
        const safe = sanitizeBlockHtmlCached(fill.html).html;
        el.setInnerContent(links ? blockLinksMapped(safe, links) : safe, { html: true });
        el.setAttribute("data-nb-decision", fill.decisionId);
        el.setAttribute("data-nb-block", fill.blockId);
        el.setAttribute("data-nb-reason", fill.reason);
        el.setAttribute("data-nb-source", "edge");
        served.set(slot, fill);
      },
    });
}
