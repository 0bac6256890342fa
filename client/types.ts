// Shapes shared by the client modules. They mirror the public contract in docs/API.md
// (`POST /v1/decide`, `POST /v1/events`); field names are fixed because the Worker's schemas and
// the ONNX feature builder read them as they are.

/**
 * The visitor's consent, per purpose. `necessary` (what the page needs to work) is not asked:
 * nextbest stores nothing under it.
 */
export interface Consent {
  /** Remember this visitor on this device and choose content for them. */
  personalization: boolean;
  /** Measure impressions, clicks, conversions and friction. */
  analytics: boolean;
  /** Blocks whose catalog entry needs `marketing` (advertising profiles). */
  marketing: boolean;
}

/** Where an answer came from: the site (`nextbest.consent()`) or the page's IAB TCF v2 CMP. */
export type ConsentSource = "site" | "tcf";

/** The page types a site can declare with `<meta name="nb:page-type">`. */
export type PageType = "home" | "category" | "product" | "cart" | "search" | "other";

/** The device class, see `detectDevice` for how it is derived. */
export type Device = "mobile" | "tablet" | "desktop";

/** The `utm_*` query parameters of the page URL, without the prefix. */
export interface Utm {
  source?: string;
  medium?: string;
  campaign?: string;
  term?: string;
  content?: string;
}

/**
 * Signals, sent as `context.signals`: the Worker's known ones, then flat custom ones (plain
 * strings ≤ 200 characters, numbers or booleans; at most 64 signals in all): session counters
 * named after their events (`product_view`, `add_to_cart`, `rage_click`, …), `lastSearch`,
 * `recencyDays` and `hourOfDay`.
 */
export interface Signals {
  pageCategory?: string;
  pageType: PageType;
  pageTags?: string[];
  categoryViews: Record<string, number>;
  scrollDepth: number;
  dwellSeconds: number;
  visitCount: number;
  referrer?: string;
  utm?: Utm;
  device: Device;
  [custom: string]: unknown;
}

/** The body of `POST /v1/decide`. */
export interface DecideRequest {
  visitorId: string;
  slots: string[];
  consent: Consent;
  context: { url: string; signals: Signals };
}

/** Why the Worker chose a block. */
export type DecisionReason = "ranked" | "holdout" | "fallback" | "default";

/** One slot's answer from `POST /v1/decide`. */
export interface Decision {
  slot: string;
  decisionId: string;
  block: { id: string; html: string };
  holdout: boolean;
  propensity: number;
  /** null when no model ranked the candidates. */
  modelVersion: string | null;
  reason: DecisionReason;
}

/** One event of `POST /v1/events`. Every event the client sends has an `eventId`. */
export interface NextbestEvent {
  type: "impression" | "click" | "conversion" | "custom";
  eventId: string;
  visitorId: string;
  decisionId?: string;
  blockId?: string;
  slot?: string;
  /** Custom events only, e.g. `friction.rage_click`, `add_to_cart`. */
  name?: string;
  value?: number;
  /** ISO 4217, with `value`. */
  currency?: string;
}

/** What `nextbest.track()` and `data-nb-*` attributes can say about an action. */
export interface TrackDetails {
  value?: number;
  currency?: string;
  /** The search term (for `search`). */
  term?: string;
}
