/**
 * Streams an HTML page through HTMLRewriter and fills its `[data-nb-slot]` elements. The page's
 * facts (category, page type, tags, declared slots) are read from its head; the decision for all
 * slots starts once, when `<body>` opens, and only the first slot waits for it — the bytes before
 * it stream as they arrive. If deciding fails or takes longer than the budget, the page streams
 * unchanged.
 */

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

export interface RewriteOptions {
  budgetMs: number;
  /** Prefix for root-relative links, so navigation stays behind the proxy. */
  linkPrefix?: string;
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

/** Returns the rewritten, still streaming, response. */
export function personalizeHtml(response: Response, decidePage: PageDecider, options: RewriteOptions): Response {
  const facts: PageFacts = {};
  let decision: Promise<Map<string, SlotFill> | undefined> | undefined;
  const decided = () =>
    (decision ??= withTimeout(decidePage(facts), options.budgetMs)
      .then((fills) => new Map(fills.map((f) => [f.slot, f])))
      .catch((err) => {
        console.warn("edge decide failed; the page streams unchanged:", err instanceof Error ? err.message : err);
        return undefined;
      }));
  const served = new Map<string, SlotFill>();
  const meta = (name: string, set: (content: string | null) => void) =>
    [`meta[name="${name}"]`, { element: (el: Element) => set(el.getAttribute("content")) }] as const;

  let rewriter = new HTMLRewriter()
    .on(...meta("nb:category", (c) => (facts.category = c?.trim().toLowerCase().slice(0, 200) || undefined)))
    .on(...meta("nb:page-type", (c) => (facts.pageType = c?.trim().toLowerCase() || undefined)))
    .on(...meta("nb:tags", (c) => (facts.tags = splitList(c))))
    .on(...meta("nb:slots", (c) => (facts.slots = splitList(c).slice(0, 10))))
    .on("body", {
      element(el) {
        void decided(); // the head is parsed: start deciding while the body streams
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
        el.setInnerContent(fill.html, { html: true });
        el.setAttribute("data-nb-decision", fill.decisionId);
        el.setAttribute("data-nb-block", fill.blockId);
        el.setAttribute("data-nb-reason", fill.reason);
        el.setAttribute("data-nb-source", "edge");
        served.set(slot, fill);
      },
    });
  const prefix = options.linkPrefix;
  if (prefix) {
    rewriter = rewriter.on('a[href^="/"]', {
      element(el) {
        const href = el.getAttribute("href")!;
        if (!href.startsWith("//") && href !== prefix && !href.startsWith(`${prefix}/`)) el.setAttribute("href", `${prefix}${href}`);
      },
    });
  }
  return rewriter.transform(response);
}
