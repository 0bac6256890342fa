// A preview link opens the demo shop as the described visitor would see it: nb.js renders the
// Worker's preview instead of deciding, says so in a banner, and sends no decide and no event.
import { describe, expect, inject, it } from "vitest";
import { browserPerTest } from "./browser.ts";

const base = inject("baseUrl");
const admin = { authorization: `Bearer ${inject("adminToken")}`, "content-type": "application/json" };
const browser = browserPerTest();

describe("preview links", () => {
  it("/shoes.html?nb_preview=<token> renders the preview of the described visitor", async () => {
    const described = {
      visitorId: "preview-e2e",
      slots: ["hero", "sidebar"],
      consent: { personalization: true },
      context: { signals: { pageType: "category", pageCategory: "bags", categoryViews: { bags: 5 } } },
      page: "/shoes.html",
    };
    const res = await fetch(`${base}/admin/preview/links`, { method: "POST", headers: admin, body: JSON.stringify(described) });
    expect(res.status).toBe(201);
    const link = (await res.json()) as { url: string };
    const { page: _, ...request } = described;
    const expected = (await (await fetch(`${base}/admin/preview`, { method: "POST", headers: admin, body: JSON.stringify(request) })).json()) as { decisions: Array<{ slot: string; block: { id: string } }> };

    const page = await browser.context.newPage();
    const posts: string[] = [];
    page.on("request", (r) => void (r.method() === "POST" && posts.push(new URL(r.url()).pathname)));
    await page.goto(link.url);
    const banner = page.locator("[data-nb-preview]");
    await banner.waitFor({ timeout: 30_000 });
    expect(await banner.innerText()).toContain("nothing is recorded");
    for (const d of expected.decisions) {
      expect(await page.locator(`[data-nb-slot="${d.slot}"]`).first().getAttribute("data-nb-block")).toBe(d.block.id);
    }
    expect(expected.decisions.find((d) => d.slot === "hero")!.block.id).toBe("hero-bags-travel");
    expect(posts).toEqual(["/v1/preview"]);
  });

  it("a tampered link shows why it was refused and keeps the defaults", async () => {
    const page = await browser.context.newPage();
    await page.goto(`${base}/shoes.html?nb_preview=v1.e30.AAAA`);
    const banner = page.locator("[data-nb-preview]");
    await banner.waitFor({ timeout: 30_000 });
    expect(await banner.innerText()).toContain("refused");
    expect(await page.locator('[data-nb-slot="hero"]').first().getAttribute("data-nb-block")).toBeNull();
  });
});
