// On-page signals: what the markup, the URL, the referrer and the viewport say about this page
// view, plus scroll depth and dwell time measured while the page is open. Session signals
// (category views, visit count) live in session.ts because they need storage and consent.
import type { Device, PageType, Utm } from "./types.ts";

/** Every string signal is cut to this many characters, so a hostile URL cannot bloat requests. */
export const MAX_TEXT_LENGTH = 200;

/** A tab left open for days is still one page view; the Worker accepts at most a week. */
const MAX_DWELL_SECONDS = 7 * 24 * 3600;

const PAGE_TYPES: readonly PageType[] = ["home", "category", "product", "cart", "search", "other"];
const UTM_FIELDS = ["source", "medium", "campaign", "term", "content"] as const;

/** Cuts a string to MAX_TEXT_LENGTH characters. */
export const clip = (text: string): string => text.slice(0, MAX_TEXT_LENGTH);

/**
 * What the page declares about itself: `<meta name="nb:NAME" content="…">`, or else
 * `<body data-nb-NAME="…">`; trimmed and lower-cased ("" when absent).
 */
export function declared(doc: Document, name: string): string {
  return (doc.querySelector(`meta[name="nb:${name}"]`)?.getAttribute("content") || doc.body?.getAttribute(`data-nb-${name}`) || "").trim().toLowerCase();
}

/**
 * The page's category, from `<meta name="nb:category" content="shoes">` or else
 * `<body data-nb-category="shoes">`. Lower-cased so "Shoes" and "shoes" count as one category.
 */
export function readPageCategory(doc: Document = document): string | undefined {
  return clip(declared(doc, "category")) || undefined;
}

/**
 * The page's tags from `<meta name="nb:tags" content="sale, bereavement">` (or `data-nb-tags`;
 * comma-separated, lower-cased, at most 20), for the Worker's brand and eligibility rules.
 */
export function readPageTags(doc: Document = document): string[] | undefined {
  const tags = declared(doc, "tags").split(",").map((tag) => tag.trim().slice(0, 64)).filter(Boolean).slice(0, 20);
  return tags.length ? tags : undefined;
}

/** The page type from `<meta name="nb:page-type">` (or `data-nb-page-type`); anything missing or unknown is "other". */
export function readPageType(doc: Document = document): PageType {
  const type = declared(doc, "page-type") as PageType;
  return PAGE_TYPES.includes(type) ? type : "other";
}

/** The referrer's hostname only (never its path or query, which may carry personal data). */
export function readReferrer(doc: Document = document): string | undefined {
  try {
    return clip(new URL(doc.referrer).hostname) || undefined;
  } catch {
    return undefined; // empty or unparsable referrer
  }
}

/** The `utm_*` parameters of a URL; undefined when it has none. */
export function readUtm(href: string = location.href): Utm | undefined {
  const utm: Utm = {};
  try {
    const params = new URL(href).searchParams;
    for (const field of UTM_FIELDS) {
      const value = params.get(`utm_${field}`)?.trim();
      if (value) utm[field] = clip(value);
    }
  } catch {
    // an unparsable URL has no parameters
  }
  return Object.keys(utm).length ? utm : undefined;
}

/**
 * Classifies the device, in this order:
 * 1. the user agent names a tablet (iPad, "Tablet", or Android without "Mobile", which is how
 *    Android tablets identify themselves) → "tablet";
 * 2. the user agent names a phone ("Mobi", iPhone, Android) → "mobile";
 * 3. the primary pointer is coarse (touch-first; catches iPadOS, which sends a desktop UA):
 *    viewport narrower than 768 CSS px → "mobile", else "tablet";
 * 4. otherwise "desktop" — a narrow window with a mouse is still a desktop.
 */
export function detectDevice(userAgent: string, viewportWidth: number, coarsePointer: boolean): Device {
  if (/iPad|Tablet|Android(?!.*Mobile)/i.test(userAgent)) return "tablet";
  if (/Mobi|iPhone|Android/i.test(userAgent)) return "mobile";
  if (coarsePointer) return viewportWidth < 768 ? "mobile" : "tablet";
  return "desktop";
}

/** Applies detectDevice to a window's user agent, viewport width and primary pointer. */
export function readDevice(win: Window = window): Device {
  return detectDevice(win.navigator.userAgent, win.innerWidth, !!win.matchMedia?.("(pointer: coarse)").matches);
}

/** Signals that follow from the page itself, whoever the visitor is. */
export interface PageSignals {
  pageCategory?: string;
  pageType: PageType;
  pageTags?: string[];
  referrer?: string;
  utm?: Utm;
  device: Device;
}

/** Reads all page signals; absent optional ones are undefined, so JSON leaves them out. */
export function readPageSignals(win: Window = window): PageSignals {
  const doc = win.document;
  return {
    pageCategory: readPageCategory(doc),
    pageType: readPageType(doc),
    pageTags: readPageTags(doc),
    referrer: readReferrer(doc),
    utm: readUtm(win.location.href),
    device: readDevice(win),
  };
}

/** Scroll depth and dwell time of the current page view. */
export interface EngagementTracker {
  /** The largest fraction of the scrollable height reached so far, 0..1 (0 if nothing scrolls). */
  scrollDepth(): number;
  /** Seconds since tracking started, at most a week (the Worker's limit). */
  dwellSeconds(): number;
  /** Starts again, for a new page view of a single-page app. */
  restart(): void;
}

/** Starts measuring scroll depth and dwell time for this page view. */
export function trackEngagement(win: Window = window, now: () => number = Date.now): EngagementTracker {
  // The scroll handler only records the offset: reading scrollHeight there would force a
  // layout on every scroll event. The fraction is computed when a decide asks for it.
  let maxScrollY = 0;
  let startedAt = now();
  const onScroll = () => (maxScrollY = Math.max(maxScrollY, win.scrollY));
  win.addEventListener("scroll", onScroll, { passive: true });
  return {
    scrollDepth() {
      const scrollable = win.document.documentElement.scrollHeight - win.innerHeight;
      return scrollable > 0 ? Math.min(1, onScroll() / scrollable) : 0;
    },
    dwellSeconds: () => Math.min(MAX_DWELL_SECONDS, (now() - startedAt) / 1000),
    restart() {
      maxScrollY = 0;
      startedAt = now();
    },
  };
}
