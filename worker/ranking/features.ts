/**
 * The feature catalog: every feature a model may name in its manifest, computed per
 * (request context, candidate block). Documented for data scientists in models/README.md;
 * names are a contract: add features, never change what an existing name means.
 */
import type { Block } from "../catalog/schema.ts";
import type { Profile } from "../identity/schema.ts";
import { compileDeclarations, type Declarations, type DeclaredInput } from "./declared.ts";
import { readSignal, type Signals } from "./signals.ts";

/** What a feature sees: the visitor's signals and one candidate block. */
export interface FeatureInput {
  signals: Signals;
  block: Block;
}

const SEARCH_ENGINES = /(^|\.)(google|bing|duckduckgo|yahoo|ecosia|baidu|yandex|qwant|startpage)\./i;

function categoryViews(s: Signals): Record<string, number> {
  return s.categoryViews ?? {};
}

function totalViews(s: Signals): number {
  return Object.values(categoryViews(s)).reduce((a, b) => a + b, 0);
}

function firstVisit(s: Signals): boolean {
  return (s.visitCount ?? 1) <= 1;
}

function utmText(s: Signals): string {
  const u = s.utm ?? {};
  return [u.campaign, u.term, u.content].filter(Boolean).join(" ").toLowerCase();
}

const bool = (b: boolean): number => (b ? 1 : 0);

/** Feature name → how it is computed. Order here is irrelevant; the manifest sets the order. */
export const FEATURES = {
  /** 1 when the page's category is the block's category. */
  page_category_match: ({ signals, block }: FeatureInput) => bool(signals.pageCategory === block.category),
  /** Share of this session's category page views that were in the block's category (0..1). */
  category_affinity: ({ signals, block }: FeatureInput) => {
    const total = totalViews(signals);
    return total > 0 ? (categoryViews(signals)[block.category] ?? 0) / total : 0;
  },
  /** ln(1 + page views in the block's category this session). */
  category_views_log: ({ signals, block }: FeatureInput) => Math.log1p(categoryViews(signals)[block.category] ?? 0),
  /** 1 when this is the visitor's first visit (visitCount ≤ 1 or unknown). */
  first_visit: ({ signals }: FeatureInput) => bool(firstVisit(signals)),
  /** 1 for a block tagged `newcomer` shown on a first visit. */
  newcomer_offer_first_visit: ({ signals, block }: FeatureInput) =>
    bool(firstVisit(signals) && block.tags.includes("newcomer")),
  /** 1 for a `cross-sell` block of the product page's own category. */
  product_page_cross_sell: ({ signals, block }: FeatureInput) =>
    bool(signals.pageType === "product" && block.tags.includes("cross-sell") && signals.pageCategory === block.category),
  /** 1 when the UTM campaign/term/content mentions the block's category or campaign. */
  utm_match: ({ signals, block }: FeatureInput) => {
    const t = utmText(signals);
    return bool(t.length > 0 && (t.includes(block.category.toLowerCase()) || t.includes(block.campaign.toLowerCase())));
  },
  /** 1 when the referrer is a web search engine. */
  search_referrer: ({ signals }: FeatureInput) => bool(SEARCH_ENGINES.test(signals.referrer ?? "")),
  /** Max scroll depth on this page so far (0..1). */
  scroll_depth: ({ signals }: FeatureInput) => signals.scrollDepth ?? 0,
  /** ln(1 + seconds on this page so far). */
  dwell_log: ({ signals }: FeatureInput) => Math.log1p(signals.dwellSeconds ?? 0),
  /** ln(visit count), 0 on a first visit. */
  visit_count_log: ({ signals }: FeatureInput) => Math.log(signals.visitCount ?? 1),
  /** 1 on a mobile device. */
  device_mobile: ({ signals }: FeatureInput) => bool(signals.device === "mobile"),
  /** 1 for a block whose category is `general` (not tied to a product category). */
  block_general: ({ block }: FeatureInput) => bool(block.category === "general"),
  /** 1 for a block tagged `promo`. */
  block_promo: ({ block }: FeatureInput) => bool(block.tags.includes("promo")),
  /** 1 for a slot's default (house) block, tagged `default`. */
  block_default: ({ block }: FeatureInput) => bool(block.tags.includes("default")),
  /** The block's business priority / 10. */
  block_priority: ({ block }: FeatureInput) => block.priority / 10,
} satisfies Record<string, (input: FeatureInput) => number>;

export type FeatureName = keyof typeof FEATURES;
/** The v1 catalog, in its fixed order (the default model and its simulator are built on it). */
export const FEATURE_NAMES = Object.keys(FEATURES) as FeatureName[];

/** Custom signal carrying a visitor's affinity to one block: `affinity.<blockId>` (a count ≥ 0). */
export const AFFINITY_SIGNAL_PREFIX = "affinity.";

/**
 * Catalog additions after v1, kept apart so FEATURE_NAMES (and so the default model, built from
 * it byte for byte) never changes. Same rule: new names only, a name never changes meaning.
 */
export const CATALOG_ADDITIONS = {
  /**
   * ln(1 + the visitor's past engagement with this very block), from the site's custom signal
   * `affinity.<blockId>`. Generic visitor × block history (e.g. the Open Bandit Dataset's
   * user-item affinity); 0 when the site sends none.
   */
  block_affinity_log: ({ signals, block }: FeatureInput) => {
    const v = readSignal(signals, `${AFFINITY_SIGNAL_PREFIX}${block.id}`); // the flat key first, as conditions read it
    return typeof v === "number" && v > 0 ? Math.log1p(v) : 0;
  },
} satisfies Record<string, (input: FeatureInput) => number>;

/** Every feature a manifest may name: v1 and the additions. */
export const CATALOG_FEATURES: Record<string, (input: FeatureInput) => number> = { ...FEATURES, ...CATALOG_ADDITIONS };
export const CATALOG_FEATURE_NAMES = Object.keys(CATALOG_FEATURES);

/** A manifest's view for feature building: its ordered names and its declarations. */
export interface FeatureSpec {
  features: readonly string[];
  declarations?: Declarations;
}

type CellFn = (input: DeclaredInput) => number;

// Compiled once per manifest object: a scorer keeps its manifest for the life of the model
// version, so declarations are compiled once per version, never per request.
const compiled = new WeakMap<FeatureSpec, CellFn[]>();

/**
 * The column functions of a manifest, in its order: catalog features and declared columns
 * (worker/ranking/declared.ts). Throws for a name that is neither (a manifest that passed upload
 * never has one).
 */
export function compileFeatures(spec: FeatureSpec): CellFn[] {
  const hit = compiled.get(spec);
  if (hit) return hit;
  const declared = compileDeclarations(spec.declarations);
  const fns = spec.features.map((n) => {
    const fn = declared.get(n) ?? (Object.hasOwn(CATALOG_FEATURES, n) ? CATALOG_FEATURES[n] : undefined);
    if (!fn) throw new Error(`unknown feature "${n}"`);
    return fn;
  });
  compiled.set(spec, fns);
  return fns;
}

/**
 * Builds the model input: one row per block, columns in the manifest's order, row-major
 * float32 — the `[N, F]` tensor the model contract fixes. `names` is either a list of catalog
 * names (compiled on each call) or a manifest (`FeatureSpec`, compiled once and cached).
 * `now` (ms since the epoch) feeds the time-based declarations (hour of week, recency).
 * Non-finite values become 0.
 */
export function buildFeatureMatrix(names: readonly string[] | FeatureSpec, signals: Signals, blocks: readonly Block[], now = 0, traits?: Profile): Float32Array {
  const fns = isSpec(names) ? compileFeatures(names) : compileFeatures({ features: names });
  const out = new Float32Array(blocks.length * fns.length);
  blocks.forEach((block, row) => {
    const input = { signals, block, now, ...(traits && { traits }) };
    fns.forEach((fn, col) => {
      const v = fn(input);
      out[row * fns.length + col] = Number.isFinite(v) ? v : 0;
    });
  });
  return out;
}

const isSpec = (v: readonly string[] | FeatureSpec): v is FeatureSpec => !Array.isArray(v);
