import { describe, expect, it } from "vitest";
import { blockSchema, type Block } from "../../worker/catalog/schema.ts";
import { conditionProblem } from "../../worker/guardrails/condition.ts";
import { guardrailConfigSchema, type GuardrailConfigInput } from "../../worker/guardrails/config.ts";
import { evaluateStaticRules, STATIC_RULES, type RuleContext } from "../../worker/guardrails/rules.ts";

const NOW = Date.parse("2026-11-25T12:00:00Z");

function block(over: Record<string, unknown> = {}): Block {
  return blockSchema.parse({ id: "b", slots: ["hero"], category: "shoes", tags: ["promo"], campaign: "c1", priority: 1, value: 1, html: "", ...over });
}

function ctx(over: Partial<RuleContext> = {}, config: GuardrailConfigInput = {}): RuleContext {
  return { now: NOW, visitorId: "v1", consent: { personalization: true }, signals: {}, config: guardrailConfigSchema.parse(config), ...over };
}

const hash = "a".repeat(64);

describe.each([
  // rule, block overrides, context overrides, guardrail config, expected reason (undefined = pass)
  { rule: "consent", b: {}, c: {}, g: {}, want: undefined },
  { rule: "consent", b: { rules: { consentPurposes: ["marketing"] } }, c: {}, g: {}, want: "consent" },
  { rule: "consent", b: { rules: { consentPurposes: ["marketing"] } }, c: { consent: { personalization: true, marketing: true } }, g: {}, want: undefined },
  { rule: "suppression", b: {}, c: {}, g: { exclusions: { global: { visitorIds: ["v1"] } } }, want: "excluded_visitor" },
  { rule: "suppression", b: {}, c: {}, g: { exclusions: { campaigns: { c1: { visitorIds: ["v1"] } } } }, want: "excluded_visitor" },
  { rule: "suppression", b: {}, c: {}, g: { exclusions: { campaigns: { other: { visitorIds: ["v1"] } } } }, want: undefined },
  // Saved lists hold keyed ids; the decide path passes the visitor's key.
  { rule: "suppression", b: {}, c: { visitorKey: "0".repeat(32) }, g: { exclusions: { global: { visitorKeys: ["0".repeat(32)] } } }, want: "excluded_visitor" },
  { rule: "suppression", b: {}, c: { visitorKey: "1".repeat(32) }, g: { exclusions: { campaigns: { c1: { visitorKeys: ["0".repeat(32)] } } } }, want: undefined },
  { rule: "suppression", b: {}, c: {}, g: { exclusions: { global: { visitorKeys: ["0".repeat(32)] } } }, want: undefined },
  { rule: "suppression", b: {}, c: { emailHash: hash }, g: { exclusions: { global: { emailHashes: [hash] } } }, want: "excluded_email" },
  { rule: "schedule", b: { rules: { startAt: "2026-11-25T12:00:00Z" } }, c: {}, g: {}, want: undefined },
  { rule: "schedule", b: { rules: { startAt: "2026-11-25T12:00:00.001Z" } }, c: {}, g: {}, want: "not_started" },
  { rule: "schedule", b: { rules: { endAt: "2026-11-25T12:00:00.001Z" } }, c: {}, g: {}, want: undefined },
  { rule: "schedule", b: { rules: { endAt: "2026-11-25T12:00:00Z" } }, c: {}, g: {}, want: "ended" },
  { rule: "country", b: { rules: { countries: ["DE", "FR"] } }, c: { country: "DE" }, g: {}, want: undefined },
  { rule: "country", b: { rules: { countries: ["DE"] } }, c: { country: "US" }, g: {}, want: "country" },
  { rule: "country", b: { rules: { countries: ["DE"] } }, c: {}, g: {}, want: "country" },
  { rule: "country", b: { rules: { excludeCountries: ["US"] } }, c: { country: "US" }, g: {}, want: "country" },
  { rule: "device", b: { rules: { devices: ["mobile"] } }, c: { signals: { device: "mobile" } }, g: {}, want: undefined },
  { rule: "device", b: { rules: { devices: ["mobile"] } }, c: { signals: { device: "desktop" } }, g: {}, want: "device" },
  { rule: "url", b: { rules: { urlPatterns: ["/shoes*"] } }, c: { url: "https://s.example/shoes/trail?x=1" }, g: {}, want: undefined },
  { rule: "url", b: { rules: { urlPatterns: ["/shoes*"] } }, c: { url: "https://s.example/bags" }, g: {}, want: "url" },
  { rule: "url", b: { rules: { urlPatterns: ["/shoes*"] } }, c: {}, g: {}, want: "url" },
  { rule: "pageTags", b: { rules: { pageTags: ["sale"] } }, c: { signals: { pageTags: ["sale", "x"] } }, g: {}, want: undefined },
  { rule: "pageTags", b: { rules: { pageTags: ["sale"] } }, c: { signals: {} }, g: {}, want: "page_tags" },
  { rule: "condition", b: { rules: { condition: { ">=": [{ var: "scrollDepth" }, 0.5] } } }, c: { signals: { scrollDepth: 0.5 } }, g: {}, want: undefined },
  { rule: "condition", b: { rules: { condition: { ">=": [{ var: "scrollDepth" }, 0.5] } } }, c: { signals: { scrollDepth: 0.49 } }, g: {}, want: "condition" },
  { rule: "condition", b: { rules: { condition: { in: ["shoes", { var: "pageCategory" }] } } }, c: { signals: { pageCategory: "running-shoes" } }, g: {}, want: undefined },
  { rule: "brand", b: {}, c: { signals: { pageTags: ["bereavement"] } }, g: { brand: { forbiddenOnPages: [{ blockTag: "promo", pageTags: ["bereavement"] }] } }, want: "brand_conflict" },
  { rule: "brand", b: { tags: ["info"] }, c: { signals: { pageTags: ["bereavement"] } }, g: { brand: { forbiddenOnPages: [{ blockTag: "promo", pageTags: ["bereavement"] }] } }, want: undefined },
  { rule: "region", b: { tags: ["alcohol"] }, c: { country: "SA" }, g: { compliance: { regions: [{ blockTag: "alcohol", deny: ["SA"] }] } }, want: "region_restricted" },
  { rule: "region", b: { tags: ["alcohol"] }, c: { country: "FR" }, g: { compliance: { regions: [{ blockTag: "alcohol", allow: ["FR", "DE"] }] } }, want: undefined },
  { rule: "region", b: { tags: ["alcohol"] }, c: {}, g: { compliance: { regions: [{ blockTag: "alcohol", allow: ["FR"] }] } }, want: "region_restricted" },
  { rule: "ageGate", b: { tags: ["age-restricted"] }, c: { signals: { declaredAge: 18 } }, g: {}, want: undefined },
  { rule: "ageGate", b: { tags: ["age-restricted"] }, c: { signals: { declaredAge: 17 } }, g: {}, want: "age_gate" },
  { rule: "ageGate", b: { tags: ["age-restricted"] }, c: { signals: {} }, g: {}, want: "age_gate" },
  { rule: "ageGate", b: { tags: ["age-restricted"] }, c: { signals: { declaredAge: 20 } }, g: { compliance: { minimumAge: 21 } }, want: "age_gate" },
])("rule $rule", ({ rule, b, c, g, want }) => {
  it(`${JSON.stringify(b)} ${JSON.stringify(c)} → ${want ?? "pass"}`, () => {
    const outcome = STATIC_RULES[rule]!(ctx(c as Partial<RuleContext>, g as GuardrailConfigInput), block(b));
    expect(outcome.pass ? undefined : outcome.reason).toBe(want);
  });
});

describe("evaluateStaticRules", () => {
  it("reports every rule's outcome and the first failure as the exclusion", () => {
    const { results, exclusion } = evaluateStaticRules(ctx({ country: "US" }), block({ rules: { countries: ["DE"], devices: ["mobile"] } }));
    expect(results.map((r) => r.rule)).toEqual(Object.keys(STATIC_RULES));
    expect(results.filter((r) => !r.outcome.pass).map((r) => r.rule)).toEqual(["country", "device"]);
    expect(exclusion).toEqual({ blockId: "b", reason: "country", detail: "US" });
  });
});

describe("the condition language", () => {
  it.each([
    { rule: { "==": [{ var: "pageType" }, "product"] }, ok: true },
    { rule: { and: [{ ">": [{ var: "dwellSeconds" }, 30] }, { "!": { var: "utm.campaign" } }] }, ok: true },
    { rule: { method: [{ var: "pageType" }, "toUpperCase"] }, ok: false },
    { rule: { "==": [1, 1], "!=": [1, 2] }, ok: false },
    { rule: { unknown_op: [1] }, ok: false },
  ])("$rule → allowed: $ok", ({ rule, ok }) => {
    expect(conditionProblem(rule) === undefined).toBe(ok);
  });

  it("refuses deeply nested conditions", () => {
    let rule: unknown = { var: "x" };
    for (let i = 0; i < 20; i++) rule = { "!": [rule] };
    expect(conditionProblem(rule)).toMatch(/deeper/);
  });
});
