// Friction and intent in Chromium: a rage click becomes a friction event the Worker accepts, and
// an intent in the markup (Add to cart) an event and a session signal.
import { describe, expect, inject, it } from "vitest";
import { browserPerTest } from "./browser.ts";
import { allEvents, answerConsent, answerOf, hidePage, recordDecides, recordEvents, visit } from "./client-helpers.ts";

const base = inject("baseUrl");
const browser = browserPerTest();

describe("friction and intent in Chromium", () => {
  it("a rage click on the product image is sent as friction.rage_click and counted for the next decide", async () => {
    const page = await browser.context.newPage();
    await visit(page, `${base}/product-trail-runner.html`);
    await answerConsent(page, true);
    const exchanges = recordEvents(page);
    await page.locator(".product-image").click({ clickCount: 3 }); // three clicks in a row, one spot
    await page.locator(".product-image").click(); // the same burst: still one rage click
    await hidePage(page);
    await expect.poll(() => allEvents(exchanges).length, { timeout: 10_000 }).toBeGreaterThan(0);
    const friction = allEvents(exchanges).filter((e) => e.type === "custom");
    expect(friction.map((e) => e.name)).toEqual(["friction.rage_click"]);
    const answers = await Promise.all(exchanges.map(answerOf));
    expect(answers.reduce((sum, a) => sum + a.body.accepted, 0)).toBe(allEvents(exchanges).length);
    expect(answers.flatMap((a) => a.body.rejected)).toEqual([]);

    const decides = recordDecides(page);
    await visit(page, `${base}/shoes.html`);
    expect(decides.at(-1)!.context.signals).toMatchObject({ rage_click: 1, product_view: 1 });
  });

  it("Add to cart (data-nb-intent) sends add_to_cart and counts it in the session", async () => {
    const page = await browser.context.newPage();
    await visit(page, `${base}/product-weekender.html`);
    await answerConsent(page, true);
    const exchanges = recordEvents(page);
    await page.getByRole("button", { name: "Add to cart" }).click();
    await hidePage(page);
    await expect.poll(() => allEvents(exchanges).length, { timeout: 10_000 }).toBeGreaterThan(0);
    expect(allEvents(exchanges).map((e) => [e.type, e.name])).toEqual([["custom", "add_to_cart"]]);
    expect((await answerOf(exchanges[0]!)).body).toMatchObject({ accepted: 1, rejected: [] });

    const decides = recordDecides(page);
    await visit(page, `${base}/bags.html`);
    expect(decides.at(-1)!.context.signals).toMatchObject({ add_to_cart: 1, categoryViews: { bags: 2 } });
  });
});
