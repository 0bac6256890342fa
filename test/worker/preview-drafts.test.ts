import { afterAll, beforeEach, describe, expect, it } from "vitest";
import type { PreviewAnswer } from "../../worker/preview/preview.ts";
import { ADMIN, heroBlock, resetCatalog, send } from "./catalog-helpers.ts";
import { call } from "./helpers.ts";

beforeEach(resetCatalog);
afterAll(resetCatalog);

const preview = async (includeDrafts: boolean) => {
  const res = await call("/admin/preview", {
    method: "POST",
    headers: { ...ADMIN, "content-type": "application/json" },
    body: JSON.stringify({ visitorId: "pv-drafts", slots: ["hero"], includeDrafts, consent: { personalization: true, analytics: true }, context: { url: "https://shop.test/shoes", signals: { pageCategory: "shoes" } } }),
  });
  expect(res.status).toBe(200);
  return res.json<PreviewAnswer>();
};

describe("preview of a draft made with the catalog admin API", () => {
  it("a draft is a candidate only when includeDrafts is asked; its HTML is the sanitised one", async () => {
    expect((await send("POST", "/blocks", heroBlock("hero-draft-preview", { html: `<p onclick="x()">new</p>` }))).status).toBe(201);
    const ids = (a: PreviewAnswer) => a.slots[0]!.candidates.map((c) => c.blockId);
    expect(ids(await preview(false))).not.toContain("hero-draft-preview");
    const withDrafts = await preview(true);
    expect(ids(withDrafts)).toContain("hero-draft-preview");
    expect(withDrafts.slots[0]!.candidates.find((c) => c.blockId === "hero-draft-preview")).toMatchObject({ status: "draft" });
    expect(JSON.stringify(withDrafts)).not.toContain("onclick");
  });
});
