// Shapes shared by the client modules. They mirror the public contract in SPEC.md
// (`POST /v1/decide`); field names are fixed because the Worker's schema and the ONNX
// feature builder read them as they are.

/** The visitor's consent answer, per purpose. */
export interface Consent {
  personalization: boolean;
  analytics: boolean;
}

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

/** On-page intent signals, sent as `context.signals`. */
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
