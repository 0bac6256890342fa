/**
 * Issue 12 §2: patterns and expressions from configuration run with a CPU bound. URL patterns
 * with regular-expression groups are refused when the catalog is validated (422-style path),
 * the path the rules see is capped, matching is linear (RE2), and JSON Logic conditions are
 * limited at save time and stopped at run time. Behaviour only: no wall-clock assertions.
 */
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { blockSchema, catalogSchema, type Block } from "../../worker/catalog/schema.ts";
import { CATALOG_KEY, DEMO_CATALOG } from "../../worker/catalog/store.ts";
import { expireConfigCaches } from "../../worker/config-health/last-good.ts";
import type { DecideResponse } from "../../worker/decide/schema.ts";
import { formatZodError } from "../../worker/errors/app-error.ts";
import { conditionProblem, MAX_STEPS, runCondition } from "../../worker/guardrails/condition.ts";
import { guardrailConfigSchema } from "../../worker/guardrails/config.ts";
import { GUARDRAILS_KEY } from "../../worker/guardrails/store.ts";
import { STATIC_RULES, type RuleContext } from "../../worker/guardrails/rules.ts";
import { isHeldOut } from "../../worker/holdout/assign.ts";
import { MAX_MATCHED_PATH, matchesAnyPath, urlPatternProblem } from "../../worker/patterns/url-pattern.ts";
import { call, postDecide } from "./helpers.ts";

const REDOS = "/((?:a|aa)*)*b";
const FOUR_STARS = "/*/*/*/*/checkout";

function block(rules: Record<string, unknown>): Block {
  return blockSchema.parse({ id: "b", slots: ["hero"], category: "shoes", campaign: "c1", priority: 1, value: 1, html: "", rules });
}
const ctx = (over: Partial<RuleContext> = {}): RuleContext => ({ now: 0, visitorId: "v1", consent: { personalization: true }, signals: {}, config: guardrailConfigSchema.parse({}), ...over });

describe("URL patterns: refused at save time", () => {
  it.each([
    { pattern: REDOS, problem: /regular-expression groups/ },
    { pattern: "/shoes/(\\d+)", problem: /regular-expression groups/ },
    { pattern: "/:id(.*)", problem: /regular-expression groups/ },
    { pattern: "/{shoes,bags}", problem: /groups "\{\.\.\.\}"/ },
    { pattern: "/shoes/:id?", problem: /modifier "\?"/ },
    { pattern: "/shoes/:id+", problem: /modifier "\+"/ },
    { pattern: "/shoes/:id*", problem: /modifier "\*"/ },
    { pattern: "/**", problem: /modifier "\*"/ },
    { pattern: "/a b", problem: /percent-encoded/ },
    { pattern: "/x\\y", problem: /escapes only/ },
    { pattern: "/:1", problem: /segment name/ },
    { pattern: "shoes", problem: /starts with "\/"/ },
    { pattern: `/${"a".repeat(200)}`, problem: /longer than 200/ },
  ])("$pattern is refused", ({ pattern, problem }) => {
    expect(urlPatternProblem(pattern)).toMatch(problem);
  });

  it.each(["/shoes*", "/*", "*", FOUR_STARS, "/products/:id", "/products/:id/reviews", "/nb.js", "/*.css", "/a\\:b", "/sale%20now", "/~user/$x"])(
    "%s is accepted",
    (pattern) => expect(urlPatternProblem(pattern)).toBeUndefined(),
  );

  it("a catalog with a refused pattern fails validation with the path of the pattern", () => {
    const catalog = structuredClone(DEMO_CATALOG);
    catalog.blocks[2]!.rules = { urlPatterns: ["/shoes*", REDOS] };
    const parsed = catalogSchema.safeParse(catalog);
    expect(parsed.success).toBe(false);
    expect(formatZodError(parsed.error!, "catalog")).toMatch(/^blocks\.2\.rules\.urlPatterns\.1: not an accepted URL pattern: custom regular-expression groups/);
  });
});

describe("URL patterns: matching", () => {
  // URLPattern (workerd's own) is the reference for the accepted syntax, on short paths.
  it.each([
    ["/shoes*", "/shoes"], ["/shoes*", "/shoes/trail"], ["/shoes*", "/bags"],
    ["/products/:id", "/products/42"], ["/products/:id", "/products/"], ["/products/:id", "/products/4/2"],
    [FOUR_STARS, "/a/b/c/d/checkout"], [FOUR_STARS, "/a/b/c/checkout"], [FOUR_STARS, "/a/b/c/d/e/checkout"],
    ["/*.css", "/site/main.css"], ["/*.css", "/site/mainXcss"], ["/nb.js", "/nbXjs"], ["/a\\:b", "/a:b"], ["*", "/anything"],
  ])("%s against %s agrees with URLPattern", (pattern, pathname) => {
    expect(matchesAnyPath(pathname, [pattern])).toBe(new URLPattern({ pathname: pattern }).test({ pathname }));
  });

  it("the issue's examples answer: the ReDoS pattern matches nothing, four wildcards on an 801-character path", () => {
    expect(matchesAnyPath(`/${"a".repeat(1_999)}`, [REDOS])).toBe(false);
    const long = `/${"a/".repeat(399)}x`; // 800 characters, many slashes, no checkout
    expect(long.length).toBe(800);
    expect(matchesAnyPath(long, [FOUR_STARS])).toBe(false);
    expect(matchesAnyPath(`${long}/checkout`, [FOUR_STARS])).toBe(true);
  });

  it(`the url rule sees at most ${MAX_MATCHED_PATH} characters of path: longer matches no pattern`, () => {
    const rule = STATIC_RULES.url!;
    const b = block({ urlPatterns: ["/*"] });
    expect(rule(ctx({ url: `https://s.example/${"a".repeat(MAX_MATCHED_PATH - 1)}` }), b)).toEqual({ pass: true });
    expect(rule(ctx({ url: `https://s.example/${"a".repeat(MAX_MATCHED_PATH)}` }), b)).toEqual({ pass: false, reason: "url", detail: `path longer than ${MAX_MATCHED_PATH} characters` });
    const checkout = block({ urlPatterns: [FOUR_STARS] });
    expect(rule(ctx({ url: `https://s.example/${"a/".repeat(392)}x` }), checkout)).toMatchObject({ pass: false, reason: "url" });
    expect(rule(ctx({ url: "https://s.example/a/b/c/d/checkout?x=1" }), checkout)).toEqual({ pass: true });
  });
});

describe("JSON Logic conditions: limits at save time", () => {
  const map = (inner: unknown) => ({ map: [{ var: "pageTags" }, inner] });
  it.each([
    { name: "three nested iterations", rule: { some: [{ var: "pageTags" }, map(map({ var: "" }))] }, problem: /more than 2 nested/ },
    { name: "a long string literal", rule: { "==": [{ var: "pageType" }, "x".repeat(2_001)] }, problem: /string longer than 2000/ },
    { name: "too many nodes", rule: { and: Array.from({ length: 201 }, () => true) }, problem: /more than 200 nodes/ },
    { name: "too deep", rule: Array.from({ length: 13 }).reduce<unknown>((r) => ({ "!": [r] }), true), problem: /nested deeper than 12/ },
    { name: "method", rule: { method: [{ var: "pageType" }, "toUpperCase"] }, problem: /operator "method" is not allowed/ },
  ])("$name is refused", ({ rule, problem }) => {
    expect(conditionProblem(rule)).toMatch(problem);
  });

  it.each([
    { name: "a comparison", rule: { ">=": [{ var: "scrollDepth" }, 0.5] } },
    { name: "two nested iterations", rule: { some: [{ var: "pageTags" }, { in: ["sale", map({ var: "" })] }] } },
    { name: "a reduce", rule: { reduce: [{ var: "pageTags" }, { "+": [{ var: "accumulator" }, 1] }, 0] } },
  ])("$name is accepted", ({ rule }) => expect(conditionProblem(rule)).toBeUndefined());

  it("a catalog with a refused condition fails validation with the condition's path", () => {
    const catalog = structuredClone(DEMO_CATALOG);
    catalog.blocks[1]!.rules = { condition: { some: [{ var: "pageTags" }, map(map({ var: "" }))] } as never };
    const parsed = catalogSchema.safeParse(catalog);
    expect(formatZodError(parsed.error!, "catalog")).toMatch(/^blocks\.1\.rules\.condition: not an accepted condition: more than 2 nested/);
  });
});

describe("JSON Logic conditions: bounded at run time", () => {
  const tags = { pageTags: Array.from({ length: 20 }, (_, i) => `t${i}`) };
  it.each([
    // A reduce doubling its accumulator would build a 2^20-fold string.
    { name: "doubling a string", rule: { reduce: [{ var: "pageTags" }, { cat: [{ var: "accumulator" }, { var: "accumulator" }] }, "abcdefghij"] }, want: "over_budget" },
    // Doubling an array likewise.
    { name: "doubling an array", rule: { reduce: [{ var: "pageTags" }, { merge: [{ var: "accumulator" }, { var: "accumulator" }] }, [1, 2, 3]] }, want: "over_budget" },
    // 20 tags × 100 literal elements, a few operations each: more steps than the budget.
    { name: "nested iterations over a long list", rule: { some: [{ var: "pageTags" }, { some: [Array.from({ length: 100 }, (_, i) => i), { "==": [{ var: "" }, "never"] }] }] }, want: "over_budget" },
    { name: "an ordinary condition", rule: { some: [{ var: "pageTags" }, { "==": [{ var: "" }, "t7"] }] }, want: true },
    { name: "an ordinary false", rule: { in: ["sale", { var: "pageTags" }] }, want: false },
  ])("$name → $want", ({ rule, want }) => {
    expect(conditionProblem(rule)).toBeUndefined();
    expect(runCondition(rule as never, tags)).toBe(want);
  });

  it(`a condition over budget (${MAX_STEPS} steps) excludes its block with the reason and leaves later conditions unaffected`, () => {
    const doubling = block({ condition: { reduce: [{ var: "pageTags" }, { cat: [{ var: "accumulator" }, { var: "accumulator" }] }, "abcdefghij"] } });
    expect(STATIC_RULES.condition!(ctx({ signals: tags }), doubling)).toEqual({ pass: false, reason: "condition", detail: "evaluation budget exceeded" });
    expect(STATIC_RULES.condition!(ctx({ signals: { pageType: "product" } }), block({ condition: { "==": [{ var: "pageType" }, "product"] } }))).toEqual({ pass: true });
  });
});

describe("the running Worker", () => {
  const holdout = { rate: Number(env.HOLDOUT_RATE), salt: env.HOLDOUT_SALT };
  let n = 0;
  const visitor = () => {
    for (;;) {
      const id = `bounds-${n++}`;
      if (!isHeldOut(id, holdout)) return id;
    }
  };
  async function store(key: string, value: unknown) {
    await env.CONFIG.put(key, JSON.stringify(value));
    expireConfigCaches();
  }
  afterEach(async () => {
    await env.CONFIG.put(CATALOG_KEY, JSON.stringify(DEMO_CATALOG));
    await env.CONFIG.delete(GUARDRAILS_KEY);
    expireConfigCaches();
  });
  const decide = (url: string) =>
    postDecide({ visitorId: visitor(), slots: ["hero"], consent: { personalization: true }, context: { url, signals: { pageType: "category", pageCategory: "shoes", categoryViews: { shoes: 4 }, visitCount: 3 } } });

  it("a stored catalog with a ReDoS pattern is never served; decides answer with the last valid one and health names the path", async () => {
    await store(GUARDRAILS_KEY, { version: 0, author: "bounds-test", createdAt: 0, action: "put", config: { latencyBudgetMs: 10_000, coldStartBudgetMs: 30_000 } });
    await store(CATALOG_KEY, { ...DEMO_CATALOG, version: 51 });
    expect((await decide("https://shop.example/shoes")).status).toBe(200);
    const bad = structuredClone({ ...DEMO_CATALOG, version: 52 });
    bad.blocks.find((b) => b.id === "hero-shoes-trail")!.rules = { urlPatterns: [REDOS] };
    await store(CATALOG_KEY, bad);
    const res = await decide(`https://shop.example/${"a".repeat(1_999)}`);
    expect(res.status).toBe(200);
    expect((await res.json<DecideResponse>()).decisions[0]).toMatchObject({ reason: "ranked", block: { id: "hero-shoes-trail" } });
    const health = await (await call("/admin/config/health", { headers: { authorization: "Bearer test-admin-token" } })).json<{ sources: Record<string, { status: string; servingVersion: number; error: { message: string } }> }>();
    expect(health.sources.catalog).toMatchObject({ status: "invalid", servingVersion: 51 });
    expect(health.sources.catalog!.error.message).toMatch(/blocks\.\d+\.rules\.urlPatterns\.0: not an accepted URL pattern/);
  });

  it("four wildcards and an 801-character URL: the decide answers, the block restricted to checkout pages is excluded", async () => {
    await store(GUARDRAILS_KEY, { version: 0, author: "bounds-test", createdAt: 0, action: "put", config: { latencyBudgetMs: 10_000, coldStartBudgetMs: 30_000 } });
    const catalog = structuredClone({ ...DEMO_CATALOG, version: 53 });
    catalog.blocks.find((b) => b.id === "hero-shoes-trail")!.rules = { urlPatterns: [FOUR_STARS] };
    await store(CATALOG_KEY, catalog);
    const url = `https://shop.example/${"a/".repeat(389)}xy`;
    expect(url.length).toBe(801);
    const res = await decide(url);
    expect(res.status).toBe(200);
    expect((await res.json<DecideResponse>()).decisions[0]!.block.id).not.toBe("hero-shoes-trail");
    const ok = await decide("https://shop.example/a/b/c/d/checkout");
    expect((await ok.json<DecideResponse>()).decisions[0]).toMatchObject({ reason: "ranked", block: { id: "hero-shoes-trail" } });
  });
});
