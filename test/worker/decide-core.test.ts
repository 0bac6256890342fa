import { describe, expect, it } from "vitest";
import { staticCatalogStore } from "../../worker/catalog/store.ts";
import { decide, type DecideDeps } from "../../worker/decide/decide.ts";
import { decideRequestSchema, type DecideRequest } from "../../worker/decide/schema.ts";
import { choose } from "../../worker/decide/select.ts";
import { guardrailConfigSchema, type GuardrailConfigInput } from "../../worker/guardrails/config.ts";
import type { ModelSelection } from "../../worker/ranking/active-model.ts";
import { FEATURE_NAMES } from "../../worker/ranking/features.ts";
import { linearScorer, type Scorer } from "../../worker/ranking/scorer.ts";
import { memoryVisitorState } from "../../worker/visitor/memory.ts";

const catalog = await staticCatalogStore().get();
const manifest = { version: 1 as const, name: "unit", features: ["page_category_match", "block_default"], output: "score" as const };
const serving = (scorer: Scorer): ModelSelection => ({ serving: scorer, arm: "champion", shadows: [] });

function deps(overrides: Partial<DecideDeps> = {}, guardrails: GuardrailConfigInput = {}): DecideDeps {
  let n = 0;
  return {
    catalog,
    guardrails: guardrailConfigSchema.parse(guardrails),
    models: async () => serving(linearScorer(manifest, [5, -1])),
    visitorState: memoryVisitorState().client,
    newId: () => `id-${n++}`,
    now: () => Date.parse("2026-11-25T12:00:00Z"),
    holdout: { rate: 0, salt: "unit" },
    epsilon: 0,
    ...overrides,
  };
}

const request = (over: Record<string, unknown> = {}): DecideRequest =>
  decideRequestSchema.parse({
    visitorId: "unit-visitor",
    slots: ["hero", "sidebar"],
    consent: { personalization: true },
    context: { signals: { pageCategory: "jackets" } },
    ...over,
  });

describe("decide()", () => {
  it("ranks by the scorer and records the model version, score and features", async () => {
    const { decisions, run } = await decide(request(), deps());
    expect(decisions.map((d) => [d.slot, d.block.id, d.reason, d.modelVersion, d.score])).toEqual([
      ["hero", "hero-jackets-rain", "ranked", "linear-test", 5],
      ["sidebar", "sidebar-jackets-layering", "ranked", "linear-test", 5],
    ]);
    expect(decisions.map((d) => d.decisionId)).toEqual(["id-0", "id-1"]);
    expect(run?.featureNames).toEqual(manifest.features);
    // Every block the rules allow: the win-back offer needs a past order (`ordersCount` ≥ 1).
    expect(run?.features).toHaveLength(catalog.blocks.filter((b) => !b.rules?.condition).length);
  });

  it("falls back to priority × value when the model fails", async () => {
    const { decisions } = await decide(request(), deps({ models: async () => Promise.reject(new Error("boom")) }));
    // Highest priority × value: hero-jackets-rain (3 × 80), sidebar-jackets-layering (2 × 25).
    expect(decisions.map((d) => [d.block.id, d.reason, d.modelVersion, d.propensity])).toEqual([
      ["hero-jackets-rain", "fallback", null, 1],
      ["sidebar-jackets-layering", "fallback", null, 1],
    ]);
  });

  it("falls back when the model returns non-finite scores", async () => {
    const nan = { ...linearScorer(manifest, [0, 0]), score: async (_f: Float32Array, rows: number) => new Float32Array(rows).fill(NaN) };
    const { decisions } = await decide(request(), deps({ models: async () => serving(nan) }));
    expect(decisions.every((d) => d.reason === "fallback")).toBe(true);
  });

  it("falls back when ranking exceeds the latency budget (injected clock)", async () => {
    let t = 0;
    const slow = { ...linearScorer(manifest, [5, -1]), score: async (f: Float32Array, rows: number) => ((t += 25), linearScorer(manifest, [5, -1]).score(f, rows)) };
    const { decisions } = await decide(request(), deps({ now: () => t, models: async () => serving(slow) }, { latencyBudgetMs: 20 }));
    expect(decisions.map((d) => d.reason)).toEqual(["fallback", "fallback"]);
    const fast = await decide(request(), deps({ now: () => t, models: async () => serving(slow) }, { latencyBudgetMs: 30 }));
    expect(fast.decisions.map((d) => d.reason)).toEqual(["ranked", "ranked"]);
  });

  it("falls back when a model never answers (timer)", async () => {
    const hanging = { ...linearScorer(manifest, [0, 0]), score: () => new Promise<Float32Array>(() => {}) };
    const { decisions } = await decide(request(), deps({ models: async () => serving(hanging) }, { latencyBudgetMs: 5 }));
    expect(decisions.map((d) => d.reason)).toEqual(["fallback", "fallback"]);
  });

  it("never gives one block to two slots, whatever the slot order", async () => {
    const welcome = { ...manifest, features: ["newcomer_offer_first_visit"] };
    for (const slots of [["hero", "sidebar"], ["sidebar", "hero"]]) {
      const { decisions, traces } = await decide(request({ slots, context: { signals: {} } }), deps({ models: async () => serving(linearScorer(welcome, [10])) }));
      expect(decisions[0]!.block.id).toBe("hero-welcome-offer");
      expect(decisions[1]!.block.id).not.toBe("hero-welcome-offer");
      expect(traces[1]!.excluded).toContainEqual({ blockId: "hero-welcome-offer", reason: "used_on_page" });
    }
  });

  it("holds out the control group with the slot defaults and logs what the model would have served", async () => {
    const { decisions, traces } = await decide(request(), deps({ holdout: { rate: 1, salt: "all" } }));
    expect(decisions.map((d) => [d.block.id, d.reason, d.holdout])).toEqual([
      ["hero-default", "holdout", true],
      ["sidebar-default", "holdout", true],
    ]);
    expect(traces.map((t) => t.counterfactualBlockId)).toEqual(["hero-jackets-rain", "sidebar-jackets-layering"]);
  });

  it("keeps a visitor out of a campaign they are held out of, and logs what the model preferred", async () => {
    const campaignHoldouts = { campaigns: { "rain-ready": { rate: 1, salt: "unit" } } };
    const { decisions, traces } = await decide(request(), deps({ campaignHoldouts }));
    // Personalised still, with the next best blocks (score ties broken by id).
    expect(decisions.map((d) => [d.block.id, d.reason, d.holdout])).toEqual([
      ["hero-bags-travel", "ranked", false],
      ["hero-welcome-offer", "ranked", false],
    ]);
    expect(traces.map((t) => [t.holdoutScope, t.counterfactualBlockId])).toEqual([
      ["campaign", "hero-jackets-rain"],
      ["campaign", "sidebar-jackets-layering"],
    ]);
    expect(traces[0]!.excluded).toContainEqual({ blockId: "hero-jackets-rain", reason: "campaign_holdout", detail: "rain-ready" });
    // Other campaigns are unaffected.
    const other = await decide(request(), deps({ campaignHoldouts: { campaigns: { "spring-shoes": { rate: 1, salt: "unit" } } } }));
    expect(other.decisions[0]!.block.id).toBe("hero-jackets-rain");
    expect(other.traces[0]!.holdoutScope).toBeUndefined();
  });

  it("without personalisation consent serves defaults and never touches visitor state", async () => {
    const state = memoryVisitorState();
    const { decisions } = await decide(request({ consent: { personalization: false } }), deps({ visitorState: state.client }));
    expect(decisions.map((d) => d.reason)).toEqual(["default", "default"]);
    expect(state.calls).toEqual([]);
  });

  it("serves defaults (reason fallback, no capped blocks) when the visitor state fails", async () => {
    const broken = () => ({ select: () => Promise.reject(new Error("DO down")), preview: () => Promise.reject(new Error("DO down")), pageView: () => Promise.reject(new Error("DO down")) });
    const { decisions, traces } = await decide(request(), deps({ visitorState: broken }, { frequencyCaps: { perBlock: { "hero-jackets-rain": [{ limit: 5, window: "day" }] } } }));
    expect(decisions[0]).toMatchObject({ reason: "fallback" });
    expect(decisions[0]!.block.id).not.toBe("hero-jackets-rain");
    expect(traces[0]!.excluded).toContainEqual({ blockId: "hero-jackets-rain", reason: "cap_state_unavailable" });
  });

  it("scores shadow models and logs their choice without changing what is served", async () => {
    const shadow = linearScorer({ ...manifest, features: ["block_default"] }, [10], "shadow-1");
    const withShadow = await decide(request(), deps({ models: async () => ({ ...serving(linearScorer(manifest, [5, -1])), shadows: [shadow] }) }));
    const without = await decide(request(), deps());
    expect(withShadow.decisions.map((d) => d.block.id)).toEqual(without.decisions.map((d) => d.block.id));
    expect(withShadow.traces.map((t) => t.shadows[0]?.chosenBlockId)).toEqual(["hero-default", "sidebar-default"]);
  });

  it("rejects unknown slots", async () => {
    await expect(decide(request({ slots: ["hero", "nope"] }), deps())).rejects.toMatchObject({ code: "unknown_slot" });
  });

  it("knows every feature the default manifest may name", () => {
    expect(FEATURE_NAMES.length).toBeGreaterThan(10);
  });
});

describe("exploration", () => {
  const ranked = ["a", "b", "c", "d"];

  it("logs the true probability of the served block", () => {
    const counts = new Map<string, number>();
    const n = 20_000;
    for (let i = 0; i < n; i++) {
      const { pick, propensity } = choose(ranked, `decision-${i}`, 0.2);
      counts.set(pick, (counts.get(pick) ?? 0) + 1);
      expect(propensity).toBeCloseTo(pick === "a" ? 0.8 + 0.05 : 0.05, 10);
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
