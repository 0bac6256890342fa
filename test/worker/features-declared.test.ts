import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import type { Block } from "../../worker/catalog/schema.ts";
import { isolateModelRuntime } from "../../worker/models/runtime.ts";
import { declarationsSchema, hourOfWeek, type Declarations } from "../../worker/ranking/declared.ts";
import { buildFeatureMatrix, compileFeatures } from "../../worker/ranking/features.ts";
import { manifestSchema, type ModelManifest } from "../../worker/ranking/manifest.ts";
import { call, postDecide } from "./helpers.ts";
import { matmulModel } from "./models-fixtures.ts";
import { adminOk, AUTH, treatedVisitors, upload, uploadOk } from "./models-helpers.ts";

afterEach(async () => {
  await env.DB.prepare("DELETE FROM model_deployments").run();
  isolateModelRuntime.invalidate();
});

const block: Block = {
  id: "hero-shoes-trail",
  slots: ["hero"],
  category: "shoes",
  tags: ["promo", "newcomer"],
  campaign: "spring",
  priority: 5,
  value: 10,
  html: "<p>x</p>",
  attributes: { tier: "gold", margin: 0.3 },
};
// Wednesday 2026-11-25 14:30 UTC: hour of week (Monday 00:00 = 0) = 2 × 24 + 14 = 62.
const NOW = Date.UTC(2026, 10, 25, 14, 30);

/** The value of one declared column for the given signals. */
function valueOf(declarations: unknown, column: string, signals: Record<string, unknown>): number {
  const parsed = declarationsSchema.parse(declarations);
  return buildFeatureMatrix({ features: [column], declarations: parsed }, signals, [block], NOW)[0]!;
}

describe("declared features: declaration → value", () => {
  it.each([
    ["numeric signal", { x: { kind: "signal", signal: "cartValue" } }, "x", { cartValue: 42.5 }, 42.5],
    ["numeric signal absent → default", { x: { kind: "signal", signal: "cartValue", default: 7 } }, "x", {}, 7],
    ["text where a number is expected → default", { x: { kind: "signal", signal: "cartValue", default: 1 } }, "x", { cartValue: "lots" }, 1],
    ["boolean signal → 0/1", { x: { kind: "signal", signal: "member" } }, "x", { member: true }, 1],
    ["nested signal by dotted path", { x: { kind: "signal", signal: "categoryViews.shoes" } }, "x", { categoryViews: { shoes: 4 } }, 4],
    ["clip above", { x: { kind: "signal", signal: "v", transforms: [{ op: "clip", min: 0, max: 100 }] } }, "x", { v: 250 }, 100],
    ["clip below", { x: { kind: "signal", signal: "v", transforms: [{ op: "clip", min: 0, max: 100 }] } }, "x", { v: -3 }, 0],
    ["log1p", { x: { kind: "signal", signal: "v", transforms: [{ op: "log1p" }] } }, "x", { v: Math.E - 1 }, 1],
    ["log1p of a negative → 0", { x: { kind: "signal", signal: "v", transforms: [{ op: "log1p" }] } }, "x", { v: -5 }, 0],
    ["standardize", { x: { kind: "signal", signal: "v", transforms: [{ op: "standardize", mean: 50, std: 20 }] } }, "x", { v: 90 }, 2],
    ["clip then log1p then standardize, in order", { x: { kind: "signal", signal: "v", transforms: [{ op: "clip", min: 0, max: Math.E - 1 }, { op: "log1p" }, { op: "standardize", mean: 0.5, std: 0.25 }] } }, "x", { v: 1e6 }, 2],
    ["bucket below the first edge", { x: { kind: "signal", signal: "v", transforms: [{ op: "bucket", edges: [10, 50, 100] }] } }, "x", { v: 3 }, 0],
    ["bucket on an edge counts it", { x: { kind: "signal", signal: "v", transforms: [{ op: "bucket", edges: [10, 50, 100] }] } }, "x", { v: 50 }, 2],
    ["bucket above the last edge", { x: { kind: "signal", signal: "v", transforms: [{ op: "bucket", edges: [10, 50, 100] }] } }, "x", { v: 1e9 }, 3],
    ["one-hot: the matching column", { tier: { kind: "one_hot", signal: "loyalty", vocabulary: ["gold", "silver"] } }, "tier=silver", { loyalty: "silver" }, 1],
    ["one-hot: another column", { tier: { kind: "one_hot", signal: "loyalty", vocabulary: ["gold", "silver"] } }, "tier=gold", { loyalty: "silver" }, 0],
    ["one-hot: out of vocabulary → all 0", { tier: { kind: "one_hot", signal: "loyalty", vocabulary: ["gold", "silver"] } }, "tier=gold", { loyalty: "platinum" }, 0],
    ["block_match category", { x: { kind: "block_match", signal: "pageCategory", attribute: "category" } }, "x", { pageCategory: "shoes" }, 1],
    ["block_match category, other", { x: { kind: "block_match", signal: "pageCategory", attribute: "category" } }, "x", { pageCategory: "jackets" }, 0],
    ["block_match tag", { x: { kind: "block_match", signal: "interest", attribute: "tag" } }, "x", { interest: "newcomer" }, 1],
    ["block_match campaign", { x: { kind: "block_match", signal: "utm.campaign", attribute: "campaign" } }, "x", { utm: { campaign: "spring" } }, 1],
    ["block_match custom attribute", { x: { kind: "block_match", signal: "loyalty", attribute: "attributes.tier" } }, "x", { loyalty: "gold" }, 1],
    ["block_match numeric attribute compares as text", { x: { kind: "block_match", signal: "m", attribute: "attributes.margin" } }, "x", { m: 0.3 }, 1],
    ["block_match missing attribute → 0", { x: { kind: "block_match", signal: "loyalty", attribute: "attributes.size" } }, "x", { loyalty: "gold" }, 0],
    ["block_match absent signal → 0", { x: { kind: "block_match", signal: "loyalty", attribute: "attributes.tier" } }, "x", {}, 0],
    ["hour of week (UTC)", { x: { kind: "hour_of_week" } }, "x", {}, 62],
    ["hour of week at UTC+10", { x: { kind: "hour_of_week", offsetMinutes: 600 } }, "x", {}, 72],
    ["hour of week bucketed (weekday/weekend)", { x: { kind: "hour_of_week", transforms: [{ op: "bucket", edges: [120] }] } }, "x", {}, 0],
    ["recency of an epoch-ms timestamp in days", { x: { kind: "recency", signal: "lastOrderAt" } }, "x", { lastOrderAt: NOW - 3 * 86_400_000 }, 3],
    ["recency of an ISO timestamp in hours", { x: { kind: "recency", signal: "lastOrderAt", unit: "hours" } }, "x", { lastOrderAt: "2026-11-25T12:30:00Z" }, 2],
    ["recency of a future time → 0", { x: { kind: "recency", signal: "lastOrderAt" } }, "x", { lastOrderAt: NOW + 86_400_000 }, 0],
    ["recency absent → default", { x: { kind: "recency", signal: "lastOrderAt", default: 365 } }, "x", {}, 365],
  ])("%s", (_, declarations, column, signals, expected) => {
    expect(valueOf(declarations, column, signals)).toBeCloseTo(expected, 5);
  });

  it("hour of week starts on Monday 00:00 UTC", () => {
    expect(hourOfWeek(Date.UTC(2026, 10, 30, 0, 0))).toBe(0); // Monday
    expect(hourOfWeek(Date.UTC(2026, 10, 29, 23, 59))).toBe(167); // Sunday
  });

  it("compiles a manifest's declarations once and mixes them with catalog features in its order", () => {
    const manifest = manifestSchema.parse({
      version: 1,
      name: "m",
      output: "probability",
      features: ["cart", "page_category_match", "tier=gold"],
      declarations: { cart: { kind: "signal", signal: "cartValue", transforms: [{ op: "log1p" }] }, tier: { kind: "one_hot", signal: "loyalty", vocabulary: ["gold"] } },
    });
    expect(compileFeatures(manifest)).toBe(compileFeatures(manifest));
    const row = buildFeatureMatrix(manifest, { cartValue: Math.E - 1, pageCategory: "shoes", loyalty: "gold" }, [block], NOW);
    expect(Array.from(row)).toEqual([expect.closeTo(1, 5), 1, 1]);
  });
});

const base = (features: string[], declarations: unknown): ModelManifest => ({ version: 1, name: "declared", output: "probability", features, declarations } as ModelManifest);

describe("upload refuses bad declarations with 422 and the path", () => {
  it.each([
    ["an unknown source kind", base(["x"], { x: { kind: "cookie", signal: "a" } }), "unprocessable_model", /manifest\.declarations\.x\.kind/],
    ["an unknown transform", base(["x"], { x: { kind: "signal", signal: "a", transforms: [{ op: "sqrt" }] } }), "unprocessable_model", /manifest\.declarations\.x\.transforms\.0\.op/],
    ["a transform with a bad parameter", base(["x"], { x: { kind: "signal", signal: "a", transforms: [{ op: "log1p" }, { op: "standardize", mean: 0, std: 0 }] } }), "unprocessable_model", /manifest\.declarations\.x\.transforms\.1\.std/],
    ["bucket edges not ascending", base(["x"], { x: { kind: "signal", signal: "a", transforms: [{ op: "bucket", edges: [5, 1] }] } }), "unprocessable_model", /manifest\.declarations\.x\.transforms\.0: edges must be strictly ascending/],
    ["a vocabulary too large", base(["t=v0"], { t: { kind: "one_hot", signal: "a", vocabulary: Array.from({ length: 65 }, (_, i) => `v${i}`) } }), "unprocessable_model", /manifest\.declarations\.t\.vocabulary/],
    ["an unknown block attribute", base(["x"], { x: { kind: "block_match", signal: "a", attribute: "price" } }), "unprocessable_model", /manifest\.declarations\.x\.attribute/],
    ["a column that is not declared", base(["x", "tier=bronze"], { x: { kind: "signal", signal: "a" }, tier: { kind: "one_hot", signal: "l", vocabulary: ["gold"] } }), "unprocessable_model", /manifest\.features\.1: unknown feature "tier=bronze"/],
    ["a declaration named like a catalog feature", base(["first_visit"], { first_visit: { kind: "signal", signal: "a" } }), "unprocessable_model", /manifest\.declarations\.first_visit: "first_visit" is a catalog feature/],
  ])("%s", async (_, manifest, code, message) => {
    const res = await upload(matmulModel({ manifest, width: manifest.features.length }));
    expect(res.status).toBe(422);
    const body = await res.json<{ error: { code: string; message: string } }>();
    expect(body.error.code).toBe(code);
    expect(body.error.message).toMatch(message);
  });
});

interface Row {
  featureNames: string[];
  features: number[][];
  candidates: string[];
  modelVersion: string | null;
  decisionId: string;
}

async function auditRows(visitorId: string): Promise<Row[]> {
  for (let i = 0; i < 600; i++) {
    const res = await call(`/admin/decisions?visitor=${visitorId}`, { headers: AUTH });
    const body = await res.json<{ decisions: Row[] }>();
    if (body.decisions.length >= 1) return body.decisions;
    await new Promise((r) => setTimeout(r, 100));
  }
  return [];
}

describe("served declared features are what the audit log and the export record", () => {
  it("logs the computed values per candidate, by column name, and exports them for the trainer", async () => {
    const declarations: Declarations = declarationsSchema.parse({
      cart_log: { kind: "signal", signal: "cartValue", transforms: [{ op: "clip", min: 0, max: 1000 }, { op: "log1p" }] },
      tier: { kind: "one_hot", signal: "loyalty", vocabulary: ["gold", "silver"] },
      same_category: { kind: "block_match", signal: "pageCategory", attribute: "category" },
    });
    const features = ["cart_log", "tier=gold", "tier=silver", "same_category", "block_promo"];
    const { id, version } = await uploadOk(matmulModel({ manifest: { version: 1, name: "declared-served", output: "probability", features, declarations }, width: 5, weights: [0.1, 0.2, 0.3, 2, -1] }));
    await adminOk(`/${id}/activate`, "POST", {});
    const [visitorId] = treatedVisitors("declared-audit", 1);
    const t0 = Date.now();
    const res = await postDecide({
      visitorId,
      slots: ["hero"],
      consent: { personalization: true, analytics: true },
      context: { url: "https://shop.example/shoes.html", signals: { pageCategory: "shoes", cartValue: 5000, loyalty: "silver" } },
    });
    expect(res.status).toBe(200);
    const [decision] = (await res.json<{ decisions: Array<{ modelVersion: string; block: { id: string } }> }>()).decisions;
    expect(decision!.modelVersion).toBe(version);
    const [row] = await auditRows(visitorId!);
    expect(row!.featureNames).toEqual(features);
    const shoes = row!.candidates.indexOf("hero-shoes-trail");
    expect(shoes).toBeGreaterThanOrEqual(0);
    // clip(5000) = 1000 → ln(1001); silver one-hot; the block's category is the page's.
    expect(row!.features[shoes]![0]).toBeCloseTo(Math.log1p(1000), 4);
    expect(row!.features[shoes]!.slice(1, 4)).toEqual([0, 1, 1]);
    const other = row!.candidates.findIndex((c) => !c.includes("shoes"));
    expect(row!.features[other]![3]).toBe(0);

    const exported = await call(`/admin/export?from=${t0 - 1}&to=${Date.now() + 1}&model=${id}`, { headers: AUTH });
    expect(exported.status).toBe(200);
    const lines = (await exported.text()).split("\n").filter(Boolean).map((l) => JSON.parse(l) as { decisionId: string; featureNames: string[]; candidates: Array<{ blockId: string; features: number[] }> });
    const line = lines.find((l) => l.decisionId === row!.decisionId)!;
    expect(line.featureNames).toEqual(features);
    expect(line.candidates.find((c) => c.blockId === "hero-shoes-trail")!.features).toEqual(row!.features[shoes]);
  });
});
