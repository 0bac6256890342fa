import { describe, expect, it } from "vitest";
import { staticCatalogStore } from "../../worker/catalog/store.ts";
import { choose, decide, type DecideDeps } from "../../worker/decide/decide.ts";
import { decideRequestSchema, type DecideRequest } from "../../worker/decide/schema.ts";
import { FEATURE_NAMES } from "../../worker/ranking/features.ts";
import type { ModelSelection } from "../../worker/ranking/active-model.ts";
import { linearScorer, type Scorer } from "../../worker/ranking/scorer.ts";

const catalog = await staticCatalogStore().get();
const manifest = { version: 1 as const, name: "unit", features: ["page_category_match", "block_default"], output: "score" as const };

const serving = (scorer: Scorer): ModelSelection => ({ serving: scorer, arm: "champion", shadows: [] });

function deps(overrides: Partial<DecideDeps> = {}): DecideDeps {
  let n = 0;
  return {
    catalog,
    models: async () => serving(linearScorer(manifest, [5, -1])),
    newId: () => `id-${n++}`,
    holdout: { rate: 0, salt: "unit" },
    epsilon: 0,
    ...overrides,
  };
}

const request = (over: Partial<DecideRequest> = {}): DecideRequest =>
  decideRequestSchema.parse({
    visitorId: "unit-visitor",
    slots: ["hero", "sidebar"],
    consent: { personalization: true },
    context: { signals: { pageCategory: "jackets" } },
    ...over,
  });

describe("decide()", () => {
  it("ranks by the scorer and records the model version and score", async () => {
    const out = await decide(request(), deps());
    expect(out.map((d) => [d.slot, d.block.id, d.reason, d.modelVersion, d.score])).toEqual([
      ["hero", "hero-jackets-rain", "ranked", "linear-test", 5],
      ["sidebar", "sidebar-jackets-layering", "ranked", "linear-test", 5],
    ]);
    expect(out.map((d) => d.decisionId)).toEqual(["id-0", "id-1"]);
  });

  it("falls back to priority × value when the model fails", async () => {
    const out = await decide(request(), deps({ models: async () => Promise.reject(new Error("boom")) }));
    // Highest priority × value: hero-jackets-rain (3 × 80), sidebar-jackets-layering (2 × 25).
    expect(out.map((d) => [d.block.id, d.reason, d.modelVersion, d.propensity])).toEqual([
      ["hero-jackets-rain", "fallback", null, 1],
      ["sidebar-jackets-layering", "fallback", null, 1],
    ]);
  });

  it("falls back when the model returns non-finite scores", async () => {
    const nan = { ...linearScorer(manifest, [0, 0]), score: async (_f: Float32Array, rows: number) => new Float32Array(rows).fill(NaN) };
    const out = await decide(request(), deps({ models: async () => serving(nan) }));
    expect(out.every((d) => d.reason === "fallback")).toBe(true);
  });

  it("never gives one block to two slots, whatever the slot order", async () => {
    // A scorer that loves hero-welcome-offer (the only block eligible for both slots).
    const welcome = { ...manifest, features: ["newcomer_offer_first_visit"] };
    for (const slots of [["hero", "sidebar"], ["sidebar", "hero"]]) {
      const out = await decide(request({ slots, context: { signals: {} } }), deps({ models: async () => serving(linearScorer(welcome, [10])) }));
      expect(out[0]!.block.id).toBe("hero-welcome-offer");
      expect(out[1]!.block.id).not.toBe("hero-welcome-offer");
    }
  });

  it("holds out the control group with the slot defaults", async () => {
    const out = await decide(request(), deps({ holdout: { rate: 1, salt: "all" } }));
    expect(out.map((d) => [d.block.id, d.reason, d.holdout])).toEqual([
      ["hero-default", "holdout", true],
      ["sidebar-default", "holdout", true],
    ]);
  });

  it("rejects unknown slots", async () => {
    await expect(decide(request({ slots: ["hero", "nope"] }), deps())).rejects.toMatchObject({ code: "unknown_slot" });
  });

  it("knows every feature the default manifest may name", () => {
    expect(FEATURE_NAMES.length).toBeGreaterThan(10);
  });
});

describe("exploration", () => {
  const ranked = ["a", "b", "c", "d"].map((id, i) => ({ block: { id } as never, rank: 10 - i }));

  it("logs the true probability of the served block", () => {
    const counts = new Map<string, number>();
    const n = 20_000;
    for (let i = 0; i < n; i++) {
      const { pick, propensity } = choose(ranked, `decision-${i}`, 0.2);
      const id = (pick.block as { id: string }).id;
      counts.set(id, (counts.get(id) ?? 0) + 1);
      expect(propensity).toBeCloseTo(id === "a" ? 0.8 + 0.05 : 0.05, 10);
    }
    // Empirical shares match the logged propensities (±1 point).
    expect(Math.abs(counts.get("a")! / n - 0.85)).toBeLessThan(0.01);
    for (const id of ["b", "c", "d"]) expect(Math.abs(counts.get(id)! / n - 0.05)).toBeLessThan(0.01);
  });

  it("is deterministic per decision id and off at epsilon 0", () => {
    expect(choose(ranked, "same", 0.5)).toEqual(choose(ranked, "same", 0.5));
    expect(choose(ranked, "x", 0)).toMatchObject({ propensity: 1, explored: false });
  });
});
