import { describe, expect, it } from "vitest";
import churnModel from "../../models/churn-demo.onnx";
import { arbitrate } from "../../worker/arbitration/arbitrate.ts";
import { arbitrationSchema } from "../../worker/arbitration/config.ts";
import { staticCatalogStore } from "../../worker/catalog/store.ts";
import { decide, type DecideDeps } from "../../worker/decide/decide.ts";
import { decideRequestSchema } from "../../worker/decide/schema.ts";
import { guardrailConfigSchema } from "../../worker/guardrails/config.ts";
import type { ModelSelection } from "../../worker/ranking/active-model.ts";
import { linearScorer, onnxScorer } from "../../worker/ranking/scorer.ts";
import { memoryVisitorState } from "../../worker/visitor/memory.ts";

const catalog = await staticCatalogStore().get();
const NOW = Date.parse("2026-11-25T12:00:00Z");
const DAY = 86_400_000;
/** The demo churn model (models/churn-demo.onnx), run by onnxruntime-web as in production. */
const churn = await onnxScorer(new Uint8Array(churnModel));
/**
 * A click model with known propensities: 0.02 for a promo, +0.05 when the block's category is
 * the page's, 0.03 for a general block. On a jackets page: rain jackets 0.07 × 80 = 5.6, bags
 * 0.02 × 55 = 1.1, shoes 0.8, welcome offer 0.05 × 15 = 0.75, win-back offer 0.03 × 20 = 0.6.
 */
const click = linearScorer({ version: 1, name: "click", features: ["block_promo", "page_category_match", "block_general"], output: "probability" }, [0.02, 0.05, 0.03], "click@test");

const CHURNER = { lastOrderAt: NOW - 180 * DAY, ordersCount: 1 }; // p(churn) = σ(−2.5 + 5.4 − 0.55) ≈ 0.91
const LOYAL = { lastOrderAt: NOW - 5 * DAY, ordersCount: 5 }; //    p(churn) = σ(−2.5 + 0.15 − 1.43) ≈ 0.02

function deps(arbitration: unknown, withChurn: boolean): DecideDeps {
  const selection: ModelSelection = { serving: click, arm: "champion", shadows: [], ...(withChurn ? { outcomes: [{ outcome: "churn", serving: churn, arm: "champion" as const }] } : {}) };
  let n = 0;
  return {
    catalog,
    guardrails: guardrailConfigSchema.parse(arbitration === undefined ? {} : { arbitration }),
    models: async () => selection,
    visitorState: memoryVisitorState().client,
    newId: () => `arb-${n++}`,
    now: () => NOW,
    holdout: { rate: 0, salt: "unit" },
    epsilon: 0,
  };
}

const request = (signals: Record<string, unknown>) =>
  decideRequestSchema.parse({ visitorId: "arb-visitor", slots: ["hero"], consent: { personalization: true }, context: { signals: { pageCategory: "jackets", ...signals } } });

/** Retention offers weigh churn, not clicks; other blocks the other way round. */
const RETENTION = { combine: "sum", weights: { click: 1, churn: 0 }, byTag: { retention: { click: 0, churn: 1 } } };

describe("arbitration: levers, context weights and churn change the winner, and debug says why", () => {
  it.each([
    { name: "default arbitration: p(click) × value", arbitration: undefined, churn: false, signals: { ordersCount: 1 }, winner: "hero-jackets-rain", explained: false },
    { name: "a block lever ×10 lifts the bags promo (1.1 × 10 > 5.6)", arbitration: { levers: { blocks: { "hero-bags-travel": 10 } } }, churn: false, signals: { ordersCount: 1 }, winner: "hero-bags-travel", explained: true },
    { name: "a campaign lever 0 switches rain-ready off in ranking", arbitration: { levers: { campaigns: { "rain-ready": 0 } } }, churn: false, signals: { ordersCount: 1 }, winner: "hero-bags-travel", explained: true },
    { name: "a tag lever 0.1 on promos lets the win-back offer through", arbitration: { levers: { tags: { promo: 0.1 } } }, churn: false, signals: { ordersCount: 1 }, winner: "hero-winback-offer", explained: true },
    {
      name: "a context weight favours bags on mobile",
      arbitration: { contextWeight: { if: [{ and: [{ "==": [{ var: "device" }, "mobile"] }, { "==": [{ var: "block.category" }, "bags"] }] }, 10, 1] } },
      churn: false,
      signals: { ordersCount: 1, device: "mobile" },
      winner: "hero-bags-travel",
      explained: true,
    },
    {
      name: "the same context weight leaves desktop visitors alone",
      arbitration: { contextWeight: { if: [{ and: [{ "==": [{ var: "device" }, "mobile"] }, { "==": [{ var: "block.category" }, "bags"] }] }, 10, 1] } },
      churn: false,
      signals: { ordersCount: 1, device: "desktop" },
      winner: "hero-jackets-rain",
      explained: true,
    },
    { name: "churn high: the retention offer wins (0.91 × 20 > 5.6)", arbitration: RETENTION, churn: true, signals: CHURNER, winner: "hero-winback-offer", explained: true },
    { name: "churn low: the loyal visitor keeps the promo", arbitration: RETENTION, churn: true, signals: LOYAL, winner: "hero-jackets-rain", explained: true },
    { name: "churn high but the retention lever is 0", arbitration: { ...RETENTION, levers: { tags: { retention: 0 } } }, churn: true, signals: CHURNER, winner: "hero-jackets-rain", explained: true },
    {
      name: "a context weight reading the churn propensity (product form)",
      arbitration: { weights: { churn: 0 }, contextWeight: { if: [{ and: [{ ">": [{ var: "propensity.churn" }, 0.5] }, { in: ["retention", { var: "block.tags" }] }] }, 20, 1] } },
      churn: true,
      signals: CHURNER,
      winner: "hero-winback-offer",
      explained: true,
    },
  ])("$name → $winner", async ({ arbitration, churn: withChurn, signals, winner, explained }) => {
    const { decisions, debug, run } = await decide(request(signals), deps(arbitration, withChurn));
    expect(decisions[0]!.block.id).toBe(winner);
    const candidates = debug.hero!.filter((c) => c.rank !== undefined && !c.excluded);
    const best = candidates.find((c) => c.blockId === winner)!;
    expect(Math.max(...candidates.map((c) => c.rank!))).toBe(best.rank);
    if (!explained) {
      expect(best.arbitration).toBeUndefined(); // the single-model fast path: p × value, as before
      expect(best.rank).toBeCloseTo(best.score! * catalog.blocks.find((b) => b.id === winner)!.value, 6);
      expect(run?.arbitration).toBeUndefined();
      return;
    }
    // Every factor is in debug and multiplies to the rank.
    const f = best.arbitration!;
    expect(f.formula).toMatch(/^priority = /);
    expect(Object.keys(f.propensities).sort()).toEqual(withChurn ? ["churn", "click"] : ["click"]);
    const combined = arbitrationSchema.parse(arbitration).combine === "sum"
      ? Object.keys(f.propensities).reduce((s, o) => s + f.weights[o]! * f.propensities[o]!, 0)
      : Object.keys(f.propensities).reduce((s, o) => s * (f.weights[o] === 0 ? 1 : f.propensities[o]! ** f.weights[o]!), 1);
    expect(f.priority).toBeCloseTo(combined * f.value * f.contextWeight * f.lever, 9);
    expect(best.rank).toBe(f.priority);
    expect(run?.arbitration?.factors).toHaveLength(run!.blockIds.length);
    if (withChurn) expect(run?.outcomes?.map((o) => [o.outcome, o.version])).toEqual([["churn", churn.version]]);
  });

  it("computes the churn propensity from the demo model's declared features", async () => {
    const { debug } = await decide(request(CHURNER), deps(RETENTION, true));
    const p = debug.hero!.find((c) => c.blockId === "hero-winback-offer")!.arbitration!.propensities.churn!;
    expect(p).toBeCloseTo(1 / (1 + Math.exp(-(-2.5 + 0.03 * 180 - 0.8 * Math.log1p(1)))), 5);
  });
});

describe("arbitrate()", () => {
  const blocks = catalog.blocks.filter((b) => b.slots.includes("hero"));
  const props = new Map(blocks.map((b) => [b.id, { click: 0.1, churn: 0.5 }]));

  it.each([
    ["a tag override applies in the block's tag order", { byTag: { promo: { click: 2 }, jackets: { click: 3 } } }, "hero-jackets-rain", { click: 3, churn: 1 }],
    ["unlisted outcomes weigh 1", {}, "hero-default", { click: 1, churn: 1 }],
  ])("%s", (_, config, blockId, weights) => {
    expect(arbitrate(arbitrationSchema.parse(config), blocks, props, {}).get(blockId)!.weights).toEqual(weights);
  });

  it("a context weight that is not a number ≥ 0 counts 1; false counts 0", () => {
    const text = arbitrate(arbitrationSchema.parse({ contextWeight: { cat: ["a", "b"] } }), blocks, props, {});
    expect(text.get("hero-default")!.contextWeight).toBe(1);
    const no = arbitrate(arbitrationSchema.parse({ contextWeight: { "==": [1, 2] } }), blocks, props, {});
    expect(no.get("hero-default")!.contextWeight).toBe(0);
  });

  it.each([
    ["an operator outside the allowed list", { contextWeight: { method: [{ var: "x" }, "toString"] } }, /contextWeight/],
    ["an expression over 200 nodes", { contextWeight: { "+": Array.from({ length: 300 }, () => 1) } }, /contextWeight/],
    ["a negative lever", { levers: { blocks: { a: -1 } } }, /levers\.blocks\.a/],
    ["an unknown combine", { combine: "max" }, /combine/],
  ])("refuses %s at save time", (_, config, path) => {
    const parsed = guardrailConfigSchema.safeParse({ arbitration: config });
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues.map((i) => i.path.join(".")).join(" ")).toMatch(path);
  });
});
