// Signal names with dots (issue 10, item 5): one rule wherever a signal is named — the flat key
// spelled exactly so first, else the dotted path — in JSON Logic conditions (`var`, `missing`),
// in model features, and so in what decide serves.
import { describe, expect, it } from "vitest";
import { catalogSchema } from "../../worker/catalog/schema.ts";
import { decide, type DecideDeps } from "../../worker/decide/decide.ts";
import { decideRequestSchema } from "../../worker/decide/schema.ts";
import { evaluateCondition } from "../../worker/guardrails/condition.ts";
import { guardrailConfigSchema } from "../../worker/guardrails/config.ts";
import { CATALOG_FEATURES } from "../../worker/ranking/features.ts";
import { linearScorer } from "../../worker/ranking/scorer.ts";
import { readSignal } from "../../worker/ranking/signals.ts";
import { memoryVisitorState } from "../../worker/visitor/memory.ts";
import jsonLogic from "json-logic-js";

const FLAT = { "affinity.hero-affinity": 3 };
const NESTED = { affinity: { "hero-affinity": 4 } };

describe.each([
  // name, signals, what readSignal and {"var": name} give (undefined → null for var)
  { case: "flat key", name: "affinity.hero-affinity", signals: FLAT, want: 3 },
  { case: "nested path", name: "affinity.hero-affinity", signals: NESTED, want: 4 },
  { case: "both present: the flat key wins", name: "affinity.hero-affinity", signals: { ...FLAT, ...NESTED }, want: 3 },
  { case: "missing", name: "affinity.hero-affinity", signals: { affinity: 2, "affinity.other": 1 }, want: undefined },
  { case: "plain name", name: "scrollDepth", signals: { scrollDepth: 0.5 }, want: 0.5 },
  { case: "known nested signal", name: "utm.campaign", signals: { utm: { campaign: "spring" } }, want: "spring" },
  { case: "array index", name: "pageTags.1", signals: { pageTags: ["sale", "new"] }, want: "new" },
  { case: "flat key holding null", name: "a.b", signals: { "a.b": null, a: { b: 1 } }, want: null },
  { case: "inherited properties are not signals", name: "constructor", signals: {}, want: undefined },
  { case: "nor deeper", name: "utm.toString", signals: { utm: {} }, want: undefined },
])("$case: $name in $signals", ({ name, signals, want }) => {
  it(`readSignal → ${JSON.stringify(want)}`, () => {
    expect(readSignal(signals, name)).toEqual(want);
  });

  it(`{"var": name} → ${JSON.stringify(want ?? null)}; with a default → ${JSON.stringify(want === undefined ? "default" : want)}`, () => {
    expect(jsonLogic.apply({ var: name }, signals)).toEqual(want ?? null);
    expect(jsonLogic.apply({ var: [name, "default"] }, signals)).toEqual(want === undefined ? "default" : want);
    // `missing` counts null (and "") as missing, as JSON Logic defines it.
    expect(jsonLogic.apply({ missing: [name] }, signals)).toEqual(want === undefined || want === null ? [name] : []);
  });
});

describe("conditions over dotted names", () => {
  it.each([
    { rule: { "==": [{ var: "affinity.hero-affinity" }, 3] }, signals: FLAT, want: true },
    { rule: { "==": [{ var: "affinity.hero-affinity" }, 3] }, signals: { "affinity.hero-affinity": 2 }, want: false },
    { rule: { "==": [{ var: "affinity.hero-affinity" }, 3] }, signals: {}, want: false },
    { rule: { ">=": [{ var: ["affinity.hero-affinity", 0] }, 0] }, signals: {}, want: true }, // the default
    { rule: { some: [{ var: "items" }, { "==": [{ var: "a.b" }, 1] }] }, signals: { items: [{ "a.b": 1 }] }, want: true }, // inside some/map/filter too
    { rule: { some: [{ var: "items" }, { "==": [{ var: "" }, 2] }] }, signals: { items: [1, 2] }, want: true }, // "" is the item itself
  ])("$rule over $signals → $want", ({ rule, signals, want }) => {
    expect(evaluateCondition(rule as jsonLogic.RulesLogic, signals)).toBe(want);
  });

  it("features read the same way: block_affinity_log", () => {
    const block = { id: "hero-affinity" } as Parameters<(typeof CATALOG_FEATURES)["block_affinity_log"]>[0]["block"];
    expect(CATALOG_FEATURES.block_affinity_log!({ signals: FLAT, block })).toBeCloseTo(Math.log1p(3));
    expect(CATALOG_FEATURES.block_affinity_log!({ signals: { ...FLAT, ...NESTED }, block })).toBeCloseTo(Math.log1p(3));
    expect(CATALOG_FEATURES.block_affinity_log!({ signals: {}, block })).toBe(0);
  });
});

describe("decide with a condition on affinity.<blockId>", () => {
  const html = (id: string) => `<p>${id}</p>`;
  const catalog = catalogSchema.parse({
    version: 1,
    slots: { hero: { defaultBlock: "hero-default" } },
    blocks: [
      { id: "hero-default", slots: ["hero"], category: "general", tags: ["default"], campaign: "house", priority: 1, value: 1, html: html("hero-default") },
      {
        id: "hero-affinity", slots: ["hero"], category: "general", tags: [], campaign: "affinity", priority: 5, value: 10, html: html("hero-affinity"),
        rules: { condition: { "==": [{ var: "affinity.hero-affinity" }, 3] } },
      },
    ],
  });
  const manifest = { version: 1 as const, name: "unit", features: ["block_default"], output: "score" as const };
  const deps = (): DecideDeps => ({
    catalog,
    guardrails: guardrailConfigSchema.parse({}),
    models: async () => ({ serving: linearScorer(manifest, [-1]), arm: "champion", shadows: [] }),
    visitorState: memoryVisitorState().client,
    newId: () => "d-1",
    now: () => Date.parse("2026-11-25T12:00:00Z"),
    holdout: { rate: 0, salt: "unit" },
    epsilon: 0,
  });
  const request = (signals: Record<string, unknown>) =>
    decideRequestSchema.parse({ visitorId: "unit-visitor", slots: ["hero"], consent: { personalization: true }, context: { signals } });

  it("serves the block when the signal is 3", async () => {
    const { decisions, traces } = await decide(request({ "affinity.hero-affinity": 3 }), deps());
    expect(decisions.map((d) => [d.block.id, d.reason])).toEqual([["hero-affinity", "ranked"]]);
    expect(traces[0]!.excluded).toEqual([]);
  });

  it.each([{ "affinity.hero-affinity": 2 }, {}])("excludes it, reason condition, for %j", async (signals) => {
    const { decisions, traces } = await decide(request(signals), deps());
    expect(decisions.map((d) => d.block.id)).toEqual(["hero-default"]);
    expect(traces[0]!.excluded).toEqual([expect.objectContaining({ blockId: "hero-affinity", reason: "condition" })]);
  });
});
