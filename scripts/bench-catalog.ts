/** Catalog and guardrails for the decide benchmark: 50 hero candidates, every rule active. */
import demoCatalog from "../worker/catalog/demo-catalog.json" with { type: "json" };
import { catalogSchema, type Catalog } from "../worker/catalog/schema.ts";
import type { GuardrailConfigInput } from "../worker/guardrails/config.ts";

const CATEGORIES = ["shoes", "bags", "jackets", "general"];

/** Rules every bench block carries; all pass for the bench visitor, so all are evaluated. */
const PASSING_BLOCK_RULES = {
  consentPurposes: ["analytics"],
  startAt: "2020-01-01T00:00:00Z",
  endAt: "2099-01-01T00:00:00Z",
  excludeCountries: ["KP"],
  devices: ["desktop", "mobile", "tablet"],
  urlPatterns: ["/*"],
  condition: { and: [{ ">=": [{ var: "scrollDepth" }, 0] }, { "!=": [{ var: "pageType" }, "cart"] }] },
  caps: [{ limit: 10_000, window: "day" }],
};

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
    rules: PASSING_BLOCK_RULES,
  }));
  return catalogSchema.parse({ ...base, blocks: [...base.blocks, ...extra] });
}

const hex = (i: number) => i.toString(16).padStart(64, "0");

/** A guardrail configuration with every rule active (none excludes the bench's best blocks). */
export function benchGuardrails(): GuardrailConfigInput {
  const campaignCaps = Object.fromEntries(Array.from({ length: 7 }, (_, i) => [`bench-${i}`, [{ limit: 10_000, window: "week" as const }]]));
  return {
    frequencyCaps: {
      global: [{ limit: 10_000, window: "day" }, { limit: 10_000, window: "session" }],
      perCampaign: campaignCaps,
      perBlock: { "hero-shoes-trail": [{ limit: 10_000, window: "hour" }] },
    },
    exclusions: {
      global: { visitorIds: Array.from({ length: 1000 }, (_, i) => `suppressed-${i}`), emailHashes: Array.from({ length: 1000 }, (_, i) => hex(i)) },
      campaigns: { "bench-3": { visitorIds: ["suppressed-x"], emailHashes: [] } },
      excludeConvertedCampaigns: true,
    },
    brand: { forbiddenOnPages: [{ blockTag: "promo", pageTags: ["bereavement"] }], maxPromotionalPerPage: 2, promotionalTag: "promo", oneBlockPerCampaign: true },
    compliance: { regions: [{ blockTag: "promo", deny: ["KP"] }], ageGatedTag: "age-restricted", minimumAge: 18 },
  };
}
