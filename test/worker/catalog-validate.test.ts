// Validation that protects serving and the review workflow, as pure functions (no bindings).
import { describe, expect, it } from "vitest";
import type { Catalog } from "../../worker/catalog/schema.ts";
import { servingCatalog } from "../../worker/catalog/serving.ts";
import { DEMO_CATALOG } from "../../worker/catalog/store.ts";
import { changeProblems } from "../../worker/catalog-admin/validate.ts";
import { applyChange, type CatalogChange } from "../../worker/catalog-admin/workflow.ts";
import { DEFAULT_GUARDRAILS } from "../../worker/guardrails/config.ts";

const MODEL = { version: "m@1", features: ["block_default", "block_promo"] };
const ctx = { guardrails: { ...DEFAULT_GUARDRAILS, frequencyCaps: { ...DEFAULT_GUARDRAILS.frequencyCaps, perBlock: { "hero-bags-travel": [{ limit: 1, window: "day" as const }] } } }, models: [MODEL] };
const edit = (c: Catalog, id: string, patch: Record<string, unknown>): Catalog => ({ ...c, blocks: c.blocks.map((b) => (b.id === id ? { ...b, ...patch } : b)) });

describe("changeProblems", () => {
  it.each<{ name: string; after: Catalog; paths: string[] }>([
    { name: "no change", after: DEMO_CATALOG, paths: [] },
    { name: "a draft default", after: edit(DEMO_CATALOG, "hero-default", { status: "draft" }), paths: ["slots.hero.defaultBlock", "guardrails.frequencyCaps.perBlock.hero-bags-travel"] },
    { name: "an archived capped block", after: edit(DEMO_CATALOG, "hero-bags-travel", { status: "archived" }), paths: ["guardrails.frequencyCaps.perBlock.hero-bags-travel"] },
    { name: "an unknown slot", after: edit(DEMO_CATALOG, "hero-shoes-trail", { slots: ["hero", "footer"] }), paths: ["blocks.hero-shoes-trail.slots.1"] },
    { name: "a reversed schedule", after: edit(DEMO_CATALOG, "hero-shoes-trail", { rules: { startAt: "2026-12-02T00:00:00Z", endAt: "2026-12-01T00:00:00Z" } }), paths: ["blocks.hero-shoes-trail.rules.endAt"] },
    { name: "a default without its tag", after: edit(DEMO_CATALOG, "sidebar-default", { tags: [] }), paths: ["blocks.sidebar-default.tags"] },
    { name: "a bad field, named by block id", after: edit(DEMO_CATALOG, "sidebar-newsletter", { priority: 1000 }), paths: ["blocks.sidebar-newsletter.priority"] },
    { name: "an archived slot", after: { ...DEMO_CATALOG, slots: { ...DEMO_CATALOG.slots, sidebar: { defaultBlock: "sidebar-default", archived: true } } }, paths: [] },
  ])("$name → $paths", ({ after, paths }) => {
    expect(changeProblems(DEMO_CATALOG, after, ctx).map((p) => p.path).sort()).toEqual([...paths].sort());
  });

  it("a problem that was there before is not the change's fault", () => {
    const before = edit(DEMO_CATALOG, "sidebar-default", { tags: [] });
    expect(changeProblems(before, edit(before, "hero-shoes-trail", { value: 41 }), ctx)).toEqual([]);
  });
});

describe("servingCatalog", () => {
  it("keeps approved and live blocks of served slots, drops drafts, archived blocks and pending edits", () => {
    const c = edit(edit(edit(DEMO_CATALOG, "hero-shoes-trail", { status: "draft" }), "hero-bags-travel", { status: "archived" }), "hero-jackets-rain", { status: "approved", pending: { content: { ...DEMO_CATALOG.blocks[3]!, html: "<p>new</p>" }, editedBy: "a", editedAt: 1 } });
    const s = servingCatalog(c);
    expect(s.blocks.map((b) => b.id)).not.toContain("hero-shoes-trail");
    expect(s.blocks.map((b) => b.id)).not.toContain("hero-bags-travel");
    expect(s.blocks.find((b) => b.id === "hero-jackets-rain")).toMatchObject({ html: DEMO_CATALOG.blocks[3]!.html });
    expect(s.blocks.find((b) => b.id === "hero-jackets-rain")!.pending).toBeUndefined();
    expect(Object.keys(s.slots)).toEqual(["hero", "sidebar"]);
  });
});

describe("applyChange", () => {
  const at = { at: 5, version: 2, requireFourEyes: true };
  const block = { ...DEMO_CATALOG.blocks[1]!, id: "hero-x" };
  const created = applyChange(DEMO_CATALOG, { action: "create_block", block }, { ...at, actor: "ana" });
  it.each<{ name: string; change: CatalogChange; actor: string; code?: string; status?: string }>([
    { name: "the author approves (four eyes)", change: { action: "approve", id: "hero-x" }, actor: "ana", code: "forbidden" },
    { name: "another actor approves", change: { action: "approve", id: "hero-x" }, actor: "ben", status: "approved" },
    { name: "publish a draft", change: { action: "publish", id: "hero-x" }, actor: "ben", code: "conflict" },
    { name: "archive a draft", change: { action: "archive", id: "hero-x" }, actor: "ana", status: "archived" },
    { name: "restore a draft", change: { action: "restore", id: "hero-x" }, actor: "ana", code: "conflict" },
    { name: "an unknown block", change: { action: "approve", id: "nope" }, actor: "ben", code: "not_found" },
  ])("$name", ({ change, actor, code, status }) => {
    const run = () => applyChange(created, change, { ...at, version: 3, actor });
    if (code) expect(run).toThrow(expect.objectContaining({ code }));
    else expect(run().blocks.find((b) => b.id === "hero-x")!.status).toBe(status);
  });
});
