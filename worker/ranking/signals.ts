import { z } from "zod";

const text = z.string().max(200);

/** On-page signals the client script sends (see client/signals.ts); all optional. */
const knownSignals = z.object({
    pageCategory: text.optional(),
    pageType: z.enum(["home", "category", "product", "cart", "search", "other"]).optional(),
    categoryViews: z
      .record(text, z.number().int().min(0).max(100_000))
      .refine((o) => Object.keys(o).length <= 50, "at most 50 categories")
      .optional(),
    scrollDepth: z.number().min(0).max(1).optional(),
    dwellSeconds: z.number().min(0).max(86_400 * 7).optional(),
    visitCount: z.number().int().min(1).max(1_000_000).optional(),
    referrer: text.optional(),
    utm: z
      .object({
        source: text.optional(),
        medium: text.optional(),
        campaign: text.optional(),
        term: text.optional(),
        content: text.optional(),
      })
      .optional(),
  device: z.enum(["mobile", "tablet", "desktop"]).optional(),
  /** Tags of the page (from `<meta name="nb:tags">`), for brand and eligibility rules. */
  pageTags: z.array(z.string().min(1).max(64)).max(20).optional(),
  /** Age the visitor declared (e.g. at an age gate), for age-restricted content. */
  declaredAge: z.number().int().min(0).max(150).optional(),
});

/** Known signals plus the site's own (plain values only), at most 64 in all. */
export const signalsSchema = knownSignals
  // Sites may send their own signals; they are kept as plain values for later models.
  .catchall(z.union([text, z.number(), z.boolean()]))
  .refine((o) => Object.keys(o).length <= 64, "at most 64 signals");

/** Signals as features see them: the known ones typed, the site's own as plain values. */
export type Signals = z.infer<typeof knownSignals> & { [custom: string]: unknown };

/**
 * Reads a signal by name, the one rule for every place that names a signal (model features,
 * JSON Logic conditions through `{"var": name}`): an own key spelled exactly `name` first, so
 * keys containing dots such as the custom signal `affinity.<blockId>` are found; otherwise
 * `name` is a dotted path into nested values (`utm.campaign`, `categoryViews.shoes`). Returns
 * `undefined` when neither exists. Only own keys are read (never `constructor` or `__proto__`).
 *
 * Example: in `{ "affinity.hero-affinity": 3, utm: { campaign: "x" } }`,
 * `"affinity.hero-affinity"` → 3 and `"utm.campaign"` → "x".
 */
export function readSignal(signals: unknown, name: string): unknown {
  if (has(signals, name)) return (signals as Record<string, unknown>)[name];
  let value = signals;
  for (const key of name.split(".")) {
    if (!has(value, key)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** Own keys only; strings and arrays have their indices and `length`, as JSON Logic reads them. */
const has = (v: unknown, key: string): boolean => v !== null && v !== undefined && Object.hasOwn(Object(v), key);
