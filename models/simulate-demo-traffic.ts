/**
 * Generates the training data of the default model: logged impressions of the demo catalog
 * under a uniformly random logging policy, with clicks drawn from a known click model.
 * Seeded, so `npm run model:data` rewrites models/data/demo-traffic.csv byte for byte.
 *
 * The click model (the "truth" the trained model should recover) says visitors click blocks of
 * the category they are browsing and have browsed, newcomers click the welcome offer, product
 * pages sell accessories of their category, and campaign traffic clicks its campaign.
 */
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import demoCatalog from "../worker/catalog/demo-catalog.json" with { type: "json" };
import { evaluateCondition } from "../worker/guardrails/condition.ts";
import { catalogSchema } from "../worker/catalog/schema.ts";
import { buildFeatureMatrix, FEATURE_NAMES } from "../worker/ranking/features.ts";
import type { Signals } from "../worker/ranking/signals.ts";
import { mulberry32 } from "./prng.ts";

const CATEGORIES = ["shoes", "bags", "jackets"] as const;
const PAGE_TYPES = ["home", "category", "product"] as const;

/** True log-odds of a click, as a function of named features. */
const TRUTH: Record<string, number> = {
  page_category_match: 1.4,
  category_affinity: 2.0,
  newcomer_offer_first_visit: 1.9,
  product_page_cross_sell: 1.1,
  utm_match: 1.0,
  search_referrer: 0.2,
  scroll_depth: 0.3,
  block_default: -0.9,
  block_general: -0.4,
};
const TRUTH_BIAS = -3.6;

/** Draws one visitor context. */
function visitor(rand: () => number): Signals {
  const interest = CATEGORIES[Math.floor(rand() * CATEGORIES.length)]!;
  const visitCount = 1 + Math.floor(-Math.log(1 - rand()) * 1.5);
  const categoryViews: Record<string, number> = {};
  const pages = Math.floor(rand() * 6);
  for (let i = 0; i < pages; i++) {
    const c = rand() < 0.75 ? interest : CATEGORIES[Math.floor(rand() * CATEGORIES.length)]!;
    categoryViews[c] = (categoryViews[c] ?? 0) + 1;
  }
  const pageType = PAGE_TYPES[Math.floor(rand() * PAGE_TYPES.length)]!;
  const signals: Signals = {
    pageType,
    categoryViews,
    visitCount,
    scrollDepth: Math.round(rand() * 100) / 100,
    dwellSeconds: Math.round(-Math.log(1 - rand()) * 30),
    device: rand() < 0.55 ? "mobile" : "desktop",
  };
  if (pageType !== "home") signals.pageCategory = rand() < 0.7 ? interest : CATEGORIES[Math.floor(rand() * CATEGORIES.length)]!;
  if (rand() < 0.2) signals.referrer = "www.google.com";
  if (rand() < 0.15) signals.utm = { source: "newsletter", medium: "email", campaign: `${interest}-week` };
  return signals;
}

/** Generates `rows` logged impressions; returns CSV text (header: features…, click). */
export function simulateDemoTraffic(rows = 12_000, seed = 20261125): string {
  const rand = mulberry32(seed);
  const catalog = catalogSchema.parse(demoCatalog);
  const slots = Object.keys(catalog.slots);
  const lines = [[...FEATURE_NAMES, "click"].join(",")];
  for (let i = 0; i < rows; i++) {
    const signals = visitor(rand);
    const slot = slots[Math.floor(rand() * slots.length)]!;
    // Blocks whose condition the visitor fails are never shown (the win-back offer needs a past
    // order; the simulated visitors have none), as the guardrails would have it.
    const eligible = catalog.blocks.filter((b) => b.slots.includes(slot) && (!b.rules?.condition || evaluateCondition(b.rules.condition, signals as Record<string, unknown>)));
    const block = eligible[Math.floor(rand() * eligible.length)]!;
    const x = buildFeatureMatrix(FEATURE_NAMES, signals, [block]);
    let logit = TRUTH_BIAS;
    FEATURE_NAMES.forEach((name, j) => (logit += (TRUTH[name] ?? 0) * x[j]!));
    const click = rand() < 1 / (1 + Math.exp(-logit)) ? 1 : 0;
    lines.push([...Array.from(x, (v) => String(Math.round(v * 10_000) / 10_000)), String(click)].join(","));
  }
  return lines.join("\n") + "\n";
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = new URL("./data/demo-traffic.csv", import.meta.url);
  writeFileSync(out, simulateDemoTraffic());
  console.log(`wrote ${fileURLToPath(out)}`);
}
