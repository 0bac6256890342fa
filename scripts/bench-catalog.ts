/** A catalog with 50 hero candidates (plus the demo's sidebar), for the decide benchmark. */
import demoCatalog from "../worker/catalog/demo-catalog.json" with { type: "json" };
import { catalogSchema, type Catalog } from "../worker/catalog/schema.ts";

const CATEGORIES = ["shoes", "bags", "jackets", "general"];

/** The demo catalog with hero blocks added until the hero slot has `heroCandidates`. */
export function benchCatalog(heroCandidates = 50): Catalog {
  const base = catalogSchema.parse(demoCatalog);
  const have = base.blocks.filter((b) => b.slots.includes("hero")).length;
  const extra = Array.from({ length: heroCandidates - have }, (_, i) => ({
    id: `bench-hero-${i}`,
    slots: ["hero"],
    category: CATEGORIES[i % CATEGORIES.length]!,
    tags: i % 2 ? ["promo"] : ["cross-sell"],
    campaign: `bench-${i % 7}`,
    priority: 1 + (i % 5),
    value: 10 + i,
    html: `<div class="nb-block"><h2>Offer ${i}</h2></div>`,
  }));
  return catalogSchema.parse({ ...base, blocks: [...base.blocks, ...extra] });
}
