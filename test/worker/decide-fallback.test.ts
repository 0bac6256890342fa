// The rule-based fallback respects the request: the page's category first, then priority × value.
import { describe, expect, it } from "vitest";
import type { Block } from "../../worker/catalog/schema.ts";
import { staticCatalogStore } from "../../worker/catalog/store.ts";
import { decide, type DecideDeps } from "../../worker/decide/decide.ts";
import { byRank, rankByRules } from "../../worker/decide/rank.ts";
import { decideRequestSchema } from "../../worker/decide/schema.ts";
import { guardrailConfigSchema } from "../../worker/guardrails/config.ts";
import { memoryVisitorState } from "../../worker/visitor/memory.ts";

const catalog = await staticCatalogStore().get();

function deps(): DecideDeps {
  let n = 0;
  return {
    catalog,
    guardrails: guardrailConfigSchema.parse({}),
    models: async () => Promise.reject(new Error("model loading exceeded its 1000 ms budget")),
    visitorState: memoryVisitorState().client,
    newId: () => `id-${n++}`,
    now: () => Date.parse("2026-11-25T12:00:00Z"),
    holdout: { rate: 0, salt: "unit" },
    epsilon: 0.5, // never used on a fallback: its answer is deterministic
  };
}

describe("the fallback on the demo catalog (the model cannot answer)", () => {
  it.each([
    { page: "shoes", hero: "hero-shoes-trail", sidebar: "sidebar-shoes-care" },
    { page: "bags", hero: "hero-bags-travel", sidebar: "sidebar-bags-organiser" },
    { page: "jackets", hero: "hero-jackets-rain", sidebar: "sidebar-jackets-layering" },
    // No category on the page, or one no block has: priority × value (3 × 80, 2 × 25).
    { page: undefined, hero: "hero-jackets-rain", sidebar: "sidebar-jackets-layering" },
    { page: "hats", hero: "hero-jackets-rain", sidebar: "sidebar-jackets-layering" },
    // The category of the page also picks among the general blocks (2 × 15 beats 1 × 5).
    { page: "general", hero: "hero-welcome-offer", sidebar: "sidebar-newsletter" },
  ])("page category $page → $hero, $sidebar", async ({ page, hero, sidebar }) => {
    const request = decideRequestSchema.parse({
      visitorId: "fallback-visitor",
      slots: ["hero", "sidebar"],
      consent: { personalization: true },
      context: { signals: { ...(page ? { pageCategory: page } : {}), categoryViews: { jackets: 9 } } },
    });
    const { decisions } = await decide(request, deps());
    expect(decisions.map((d) => [d.slot, d.block.id, d.reason, d.modelVersion, d.propensity])).toEqual([
      ["hero", hero, "fallback", null, 1],
      ["sidebar", sidebar, "fallback", null, 1],
    ]);
  });
});

describe("rankByRules + byRank", () => {
  const block = (id: string, category: string, priority: number, value: number): Block => ({ id, slots: ["s"], category, tags: [], campaign: id, priority, value, html: id });
  const blocks = [block("a-shoes-low", "shoes", 1, 1), block("b-bags-high", "bags", 5, 100), block("c-shoes-high", "shoes", 2, 10), block("d-general", "general", 3, 10), block("e-shoes-tie", "shoes", 10, 2)];
  const order = (pageCategory?: string) => [...rankByRules(blocks, pageCategory ? { pageCategory } : {}).values()].sort(byRank).map((r) => r.block.id);

  it.each([
    { page: "shoes", expected: ["c-shoes-high", "e-shoes-tie", "a-shoes-low", "b-bags-high", "d-general"] }, // 20 = 20: by id
    { page: "bags", expected: ["b-bags-high", "d-general", "c-shoes-high", "e-shoes-tie", "a-shoes-low"] },
    { page: undefined, expected: ["b-bags-high", "d-general", "c-shoes-high", "e-shoes-tie", "a-shoes-low"] },
    { page: "hats", expected: ["b-bags-high", "d-general", "c-shoes-high", "e-shoes-tie", "a-shoes-low"] },
  ])("page $page → $expected", ({ page, expected }) => {
    expect(order(page)).toEqual(expected);
  });

  it("keeps priority × value as the rank the audit records", () => {
    expect(rankByRules(blocks, { pageCategory: "shoes" }).get("c-shoes-high")).toMatchObject({ rank: 20, tier: 1 });
    expect(rankByRules(blocks, { pageCategory: "shoes" }).get("b-bags-high")).toMatchObject({ rank: 500, tier: 0 });
  });
});
