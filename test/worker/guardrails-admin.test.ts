import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { DEMO_CATALOG } from "../../worker/catalog/store.ts";
import { DEFAULT_GUARDRAILS } from "../../worker/guardrails/config.ts";
import { unknownReferences } from "../../worker/guardrails/references.ts";
import { parseIfMatch } from "../../worker/guardrails/route.ts";
import { visitorKey } from "../../worker/visitor/key.ts";
import { call } from "./helpers.ts";

const ADMIN = { authorization: "Bearer test-admin-token" };
const JSON_TYPE = { "content-type": "application/json" };
const MERGE_PATCH = { "content-type": "application/merge-patch+json" };

interface Version {
  version: number;
  author: string;
  action: string;
  restoredFrom?: number;
  config: typeof DEFAULT_GUARDRAILS;
  warnings?: Array<{ code: string; path: string; message: string }>;
}
interface ErrorBody {
  error: { code: string; message: string };
}

const send = (method: string, path: string, body: unknown, headers: Record<string, string> = {}) =>
  call(`/admin/guardrails${path}`, { method, headers: { ...ADMIN, ...JSON_TYPE, ...headers }, body: typeof body === "string" ? body : JSON.stringify(body) });
const get = (path = "") => call(`/admin/guardrails${path}`, { headers: ADMIN });
const newest = async () => {
  const res = await get();
  return { etag: res.headers.get("etag")!, body: await res.json<Version>() };
};

/** A known starting point: exclusions, a promo limit and a cap, as in the issue. */
const BASE = {
  latencyBudgetMs: 25,
  brand: { maxPromotionalPerPage: 1 },
  exclusions: { campaigns: { "travel-bags": { visitorIds: ["v-excluded"] } } },
  frequencyCaps: { perBlock: { "hero-shoes-trail": [{ limit: 3, window: "day" }] } },
};
let base: Version;
beforeEach(async () => {
  base = await (await send("PUT", "", BASE)).json<Version>();
});
afterAll(async () => {
  await send("PUT", "", {});
});

describe("PATCH /admin/guardrails (JSON Merge Patch, RFC 7396)", () => {
  it("changes one member and keeps everything else (the exclusion list and the promo limit survive)", async () => {
    const res = await send("PATCH", "", { latencyBudgetMs: 40 }, { ...MERGE_PATCH, "if-match": `"${base.version}"`, "x-nextbest-actor": "ana" });
    expect(res.status).toBe(200);
    expect(res.headers.get("etag")).toBe(`"${base.version + 1}"`);
    const saved = await res.json<Version>();
    expect(saved).toMatchObject({ version: base.version + 1, author: "ana", action: "patch" });
    expect(saved.config.latencyBudgetMs).toBe(40);
    expect(saved.config.brand.maxPromotionalPerPage).toBe(1);
    // Saved as the visitor's pseudonymous key, never the raw id (worker/guardrails/suppression.ts).
    expect(saved.config.exclusions.campaigns["travel-bags"]).toMatchObject({ visitorIds: [], visitorKeys: [await visitorKey("v-excluded")] });
    expect(saved.config.frequencyCaps.perBlock["hero-shoes-trail"]).toEqual([{ limit: 3, window: "day" }]);
    expect((await newest()).body).toEqual(saved);
  });

  it.each([
    { name: "null removes a member (its default returns)", patch: { latencyBudgetMs: null }, check: (c: Version["config"]) => expect(c.latencyBudgetMs).toBe(DEFAULT_GUARDRAILS.latencyBudgetMs) },
    { name: "null removes a map entry", patch: { frequencyCaps: { perBlock: { "hero-shoes-trail": null } } }, check: (c: Version["config"]) => expect(c.frequencyCaps.perBlock).toEqual({}) },
    { name: "a nested member merges", patch: { brand: { oneBlockPerCampaign: true } }, check: (c: Version["config"]) => expect(c.brand).toMatchObject({ oneBlockPerCampaign: true, maxPromotionalPerPage: 1 }) },
    { name: "an array replaces the array", patch: { exclusions: { campaigns: { "travel-bags": { visitorKeys: ["1".repeat(32), "2".repeat(32)] } } } }, check: (c: Version["config"]) => expect(c.exclusions.campaigns["travel-bags"]!.visitorKeys).toEqual(["1".repeat(32), "2".repeat(32)]) },
    { name: "a new map entry is added", patch: { frequencyCaps: { perCampaign: { "spring-shoes": [{ limit: 1, window: "session" }] } } }, check: (c: Version["config"]) => expect(Object.keys(c.frequencyCaps.perCampaign)).toEqual(["spring-shoes"]) },
  ])("$name", async ({ patch, check }) => {
    const res = await send("PATCH", "", patch, MERGE_PATCH);
    expect(res.status).toBe(200);
    const saved = await res.json<Version>();
    check(saved.config);
    expect(saved.config.exclusions.campaigns["travel-bags"]).toBeDefined();
  });

  it.each([
    { name: "an invalid value", patch: { latencyBudgetMs: "fast" }, status: 422, code: "invalid_config", message: "latencyBudgetMs:" },
    { name: "an unknown member", patch: { surprise: 1 }, status: 422, code: "invalid_config", message: "body:" },
    { name: "a cap on a block not in the catalog", patch: { frequencyCaps: { perBlock: { "hero-shoez-trail": [{ limit: 1, window: "day" }] } } }, status: 422, code: "invalid_config", message: 'frequencyCaps.perBlock.hero-shoez-trail: no block "hero-shoez-trail"' },
    { name: "a cap on a campaign not in the catalog", patch: { frequencyCaps: { perCampaign: { "spring-shoe": [{ limit: 1, window: "day" }] } } }, status: 422, code: "invalid_config", message: "frequencyCaps.perCampaign.spring-shoe:" },
    { name: "an exclusion on a campaign not in the catalog", patch: { exclusions: { campaigns: { "travel-bag": { visitorIds: ["x"] } } } }, status: 422, code: "invalid_config", message: "exclusions.campaigns.travel-bag:" },
    { name: "a patch that is not an object", patch: [1], status: 422, code: "invalid_config", message: "must be a JSON object" },
    { name: "a prototype key", patch: '{"brand":{"__proto__":{"x":1}}}', status: 422, code: "invalid_config", message: "brand.__proto__:" },
    { name: "malformed JSON", patch: "{", status: 400, code: "invalid_json", message: "JSON" },
    { name: "2,000 nested objects (was a stack overflow, 500)", patch: `${'{"a":'.repeat(2000)}1${"}".repeat(2000)}`, status: 422, code: "invalid_config", message: "nested deeper than 32 levels" },
  ])("refuses $name with $status and changes nothing", async ({ patch, status, code, message }) => {
    const res = await send("PATCH", "", patch, MERGE_PATCH);
    expect(res.status).toBe(status);
    const { error } = await res.json<ErrorBody>();
    expect(error.code).toBe(code);
    expect(error.message).toContain(message);
    expect((await newest()).body).toEqual(base);
  });
});

describe("optimistic concurrency (ETag / If-Match)", () => {
  it("GET answers the version as a strong ETag", async () => {
    const { etag, body } = await newest();
    expect(etag).toBe(`"${base.version}"`);
    expect(body.version).toBe(base.version);
  });

  it.each([
    { method: "PATCH", body: { latencyBudgetMs: 30 } },
    { method: "PUT", body: { latencyBudgetMs: 30 } },
  ])("$method with a stale If-Match answers 412 and changes nothing", async ({ method, body }) => {
    const stale = `"${base.version}"`;
    expect((await send("PATCH", "", { latencyBudgetMs: 35 }, { "if-match": stale })).status).toBe(200); // someone else's change
    const res = await send(method, "", body, { "if-match": stale });
    expect(res.status).toBe(412);
    expect((await res.json<ErrorBody>()).error.code).toBe("precondition_failed");
    expect((await newest()).body.config.latencyBudgetMs).toBe(35);
  });

  it.each<{ ifMatch: string | undefined; status: number }>([
    { ifMatch: undefined, status: 200 },
    { ifMatch: "*", status: 200 },
    { ifMatch: "current", status: 200 },
    { ifMatch: "current-bare", status: 200 },
    { ifMatch: "list", status: 200 },
    { ifMatch: '"999999"', status: 412 },
    { ifMatch: "weak", status: 412 },
    { ifMatch: "garbage", status: 400 },
  ])("If-Match $ifMatch → $status", async ({ ifMatch, status }) => {
    const v = base.version;
    const header = { current: `"${v}"`, "current-bare": `${v}`, list: `"1", "${v}"`, weak: `W/"${v}"`, garbage: "yesterday" }[ifMatch as string] ?? ifMatch;
    const headers: Record<string, string> = header === undefined ? {} : { "if-match": header };
    const res = await send("PATCH", "", { latencyBudgetMs: 33 }, headers);
    expect(res.status).toBe(status);
  });

  it("concurrent PATCHes without If-Match to different members: every change survives", async () => {
    const patches = [{ latencyBudgetMs: 41 }, { sessionTimeoutMinutes: 42 }, { brand: { oneBlockPerCampaign: true } }, { compliance: { minimumAge: 21 } }];
    const answers = await Promise.all(patches.map((p) => send("PATCH", "", p)));
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    const { body } = await newest();
    expect(body.version).toBe(base.version + 4);
    expect(body.config).toMatchObject({ latencyBudgetMs: 41, sessionTimeoutMinutes: 42, brand: { oneBlockPerCampaign: true, maxPromotionalPerPage: 1 }, compliance: { minimumAge: 21 } });
  });

  it("concurrent PATCHes with the same If-Match: exactly one wins", async () => {
    const ifMatch = { "if-match": `"${base.version}"` };
    const answers = await Promise.all([30, 31, 32, 33, 34].map((ms) => send("PATCH", "", { latencyBudgetMs: ms }, ifMatch)));
    expect(answers.map((r) => r.status).sort()).toEqual([200, 412, 412, 412, 412]);
  });
});

describe("versions and rollback", () => {
  it("GET /admin/guardrails/:version reads any saved version, 0 being the built-in default", async () => {
    await send("PATCH", "", { latencyBudgetMs: 50 });
    const old = await get(`/${base.version}`);
    expect(old.status).toBe(200);
    expect(old.headers.get("etag")).toBe(`"${base.version}"`);
    expect((await old.json<Version>()).config.latencyBudgetMs).toBe(25);
    expect(await (await get("/0")).json()).toMatchObject({ version: 0, author: "built-in", config: DEFAULT_GUARDRAILS });
    const missing = await get("/999999");
    expect(missing.status).toBe(404);
    expect((await missing.json<ErrorBody>()).error.code).toBe("not_found");
  });

  it("rolls back to a version as a new version, and the history records it", async () => {
    await send("PATCH", "", { latencyBudgetMs: 60, exclusions: { campaigns: null } });
    const res = await send("POST", "/rollback", { version: base.version }, { "x-nextbest-actor": "ops" });
    expect(res.status).toBe(200);
    const restored = await res.json<Version>();
    expect(restored).toMatchObject({ version: base.version + 2, action: "rollback", restoredFrom: base.version, author: "ops", warnings: [] });
    expect(restored.config).toEqual(base.config);
    const { versions } = await (await get("/history")).json<{ versions: Array<Omit<Version, "config">> }>();
    expect(versions.slice(0, 3)).toMatchObject([
      { version: base.version + 2, action: "rollback", restoredFrom: base.version },
      { version: base.version + 1, action: "patch" },
      { version: base.version, action: "put" },
    ]);
  });

  it.each<{ body: object; headers: Record<string, string>; status: number }>([
    { body: { version: 999999 }, headers: {}, status: 404 },
    { body: { version: -1 }, headers: {}, status: 400 },
    { body: {}, headers: {}, status: 400 },
    { body: { version: 0 }, headers: { "if-match": '"1"' }, status: 412 },
  ])("rollback $body (If-Match $headers) → $status", async ({ body, headers, status }) => {
    const res = await send("POST", "/rollback", body, headers);
    expect(res.status).toBe(status);
    expect((await newest()).body).toEqual(base);
  });

  it("needs the admin token", async () => {
    expect((await call("/admin/guardrails/1")).status).toBe(401);
    expect((await call("/admin/guardrails", { method: "PATCH", headers: JSON_TYPE, body: "{}" })).status).toBe(401);
    expect((await call("/admin/guardrails/rollback", { method: "POST", headers: JSON_TYPE, body: '{"version":0}' })).status).toBe(401);
  });
});

describe("unknownReferences (pure)", () => {
  const config = (overrides: object) => ({ ...DEFAULT_GUARDRAILS, ...overrides }) as typeof DEFAULT_GUARDRAILS;
  it.each([
    { name: "nothing named", config: config({}), paths: [] },
    { name: "known block and campaigns", config: config({ frequencyCaps: { global: [], perBlock: { "hero-default": [] }, perCampaign: { welcome: [] } }, exclusions: { ...DEFAULT_GUARDRAILS.exclusions, campaigns: { house: { visitorIds: [], emailHashes: [] } } } }), paths: [] },
    { name: "an unknown block", config: config({ frequencyCaps: { global: [], perBlock: { "hero-nope": [] }, perCampaign: {} } }), paths: ["frequencyCaps.perBlock.hero-nope"] },
    { name: "a block id used as a campaign", config: config({ frequencyCaps: { global: [], perBlock: {}, perCampaign: { "hero-default": [] } } }), paths: ["frequencyCaps.perCampaign.hero-default"] },
    { name: "an unknown excluded campaign", config: config({ exclusions: { ...DEFAULT_GUARDRAILS.exclusions, campaigns: { gone: { visitorIds: [], emailHashes: [] } } } }), paths: ["exclusions.campaigns.gone"] },
  ])("$name → $paths", ({ config, paths }) => {
    expect(unknownReferences(config, DEMO_CATALOG).map((r) => r.path)).toEqual(paths);
  });
});

describe("parseIfMatch (pure)", () => {
  it.each([
    { header: "*", parsed: "*" },
    { header: '"12"', parsed: [12] },
    { header: "12", parsed: [12] },
    { header: '"3", "4"', parsed: [3, 4] },
    { header: 'W/"12"', parsed: [] },
    { header: 'W/"12", "13"', parsed: [13] },
  ])("$header → $parsed", ({ header, parsed }) => {
    expect(parseIfMatch(header)).toEqual(parsed);
  });
  it.each(["yesterday", '"12', "", '"1e3"'])("refuses %j", (header) => {
    expect(() => parseIfMatch(header)).toThrow(/If-Match/);
  });
});
