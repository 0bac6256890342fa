// Single-page apps (history navigation, slots that appear) and intent from markup
// (data-nb-intent) and nextbest.track().
import { describe, expect, it } from "vitest";
import type { Extras } from "../../client/index.ts";
import { decidingFetch, decision, recordingFetch } from "./helpers.ts";
import { openPage, settle } from "./page.ts";

const SHOES_HEAD = '<meta name="nb:page-type" content="category"><meta name="nb:category" content="shoes">';

describe("history navigation", () => {
  it("pushState to a new path is a new page view: one decide of all slots, with the new page's signals", async () => {
    const page = await openPage({ head: SHOES_HEAD });
    await page.client.consent({ personalization: true, analytics: false });
    const before = page.decides.length;
    // The app renders the bags page, then pushes its URL.
    page.doc.querySelector('meta[name="nb:category"]')!.setAttribute("content", "bags");
    page.win.history.pushState({}, "", "/bags");
    await settle();
    expect(page.decides).toHaveLength(before + 1);
    const { body } = page.decides.at(-1)!;
    expect(body.slots).toEqual(["hero", "sidebar"]);
    expect(body.context.url).toBe("https://shop.example/bags");
    expect(body.context.signals).toMatchObject({ pageCategory: "bags", categoryViews: { shoes: 1, bags: 1 }, page_view: 2 });
  });

  it.each([
    { case: "replaceState to the same path (a router storing scroll position)", go: (h: History) => h.replaceState({ y: 100 }, "") },
    { case: "a hash change", go: (h: History) => h.pushState({}, "", "#reviews") },
  ])("$case is not a new page", async ({ go }) => {
    const page = await openPage();
    go(page.win.history);
    await settle();
    expect(page.decides).toHaveLength(1);
  });

  it("replaceState to a new query and popstate are new pages", async () => {
    const page = await openPage({ url: "https://shop.example/search" });
    // utm_* parameters are the ones the page URL keeps by default (worker/decide/page-url.ts).
    page.win.history.replaceState({}, "", "/search?utm_term=boots");
    await settle();
    expect(page.decides.map((call) => call.body.context.url)).toEqual(["https://shop.example/search", "https://shop.example/search?utm_term=boots"]);
    page.win.history.pushState({}, "", "/search?utm_term=bags");
    await settle();
    page.win.history.back();
    await settle();
    expect(page.decides.at(-1)!.body.context.url).toBe("https://shop.example/search?utm_term=boots");
  });

  it("a navigation during a decide wins: the older answer is not rendered", async () => {
    let call = 0;
    const answers: ((response: Response) => void)[] = [];
    const { fetchImpl } = recordingFetch(() => new Promise<Response>((resolve) => answers.push(resolve)));
    const page = await openPage({ start: false }); // its own client stays unstarted
    const { ALL_EXTRAS, createNextbest } = await import("../../client/index.ts");
    const client = createNextbest({ endpoint: "https://edge.example", win: page.win, fetchImpl, extras: async () => ALL_EXTRAS });
    void client.start();
    await settle();
    answers[0]!(Response.json({ decisions: [decision("hero", "answer-first")] }));
    await settle(); // the first decide is done: navigation is watched
    page.win.history.pushState({}, "", "/next");
    await settle();
    page.win.history.pushState({}, "", "/after");
    await settle();
    expect(answers).toHaveLength(3);
    answers[2]!(Response.json({ decisions: [decision("hero", `answer-${++call}-new`)] }));
    await settle();
    answers[1]!(Response.json({ decisions: [decision("hero", "answer-old")] }));
    await settle();
    expect(page.doc.querySelector('[data-nb-slot="hero"]')!.getAttribute("data-nb-block")).toBe("answer-1-new");
  });
});

describe("before the optional parts (nb-extras.js) arrive", () => {
  it("a navigation and new slots are caught up with once they do", async () => {
    let load: ((extras: Extras) => void) | undefined;
    const page = await openPage({ start: false }); // its own client stays unstarted
    const { ALL_EXTRAS, createNextbest } = await import("../../client/index.ts");
    const { fetchImpl, calls } = decidingFetch();
    const client = createNextbest({ endpoint: "https://edge.example", win: page.win, fetchImpl, extras: () => new Promise((resolve) => (load = resolve)) });
    await client.start();
    page.win.history.pushState({}, "", "/next");
    page.doc.body.insertAdjacentHTML("beforeend", '<section data-nb-slot="promo">Promo default</section>');
    await settle();
    expect(calls).toHaveLength(1);
    load!(ALL_EXTRAS);
    await settle();
    expect(calls.map((call) => [call.body.context.url, call.body.slots])).toEqual([
      ["https://shop.example/", ["hero", "sidebar"]],
      ["https://shop.example/next", ["hero", "sidebar", "promo"]],
    ]);
  });
});

describe("slots that appear", () => {
  it("are decided on their own, once, in one request however many mutations bring them", async () => {
    const page = await openPage();
    const hero = page.doc.querySelector('[data-nb-slot="hero"]')!;
    const heroDecision = hero.getAttribute("data-nb-decision");
    page.doc.body.insertAdjacentHTML("beforeend", '<section data-nb-slot="promo">Promo default</section>');
    page.doc.body.insertAdjacentHTML("beforeend", '<section data-nb-slot="footer-offer">Offer default</section>');
    await settle();
    expect(page.decides.map((call) => call.body.slots)).toEqual([["hero", "sidebar"], ["promo", "footer-offer"]]);
    expect(page.doc.querySelector('[data-nb-slot="promo"]')!.getAttribute("data-nb-state")).toBe("decided");
    expect(hero.getAttribute("data-nb-decision")).toBe(heroDecision); // earlier slots keep theirs
    // Rendering changes the DOM too; it brings no new decide.
    await settle();
    expect(page.decides).toHaveLength(2);
  });

  it("slots the edge filled, or with a name the Worker would refuse, bring no request", async () => {
    const page = await openPage();
    page.doc.body.insertAdjacentHTML("beforeend", '<div data-nb-slot="hero" data-nb-source="edge" data-nb-decision="d-e"></div><div data-nb-slot="Bad Name"></div>');
    await settle();
    expect(page.decides).toHaveLength(1);
    expect(page.doc.querySelector('[data-nb-slot="Bad Name"]')!.getAttribute("data-nb-state")).toBe("default");
  });
});

describe("intent", () => {
  const PRODUCT =
    '<div data-nb-slot="hero">default</div>' +
    '<button id="add" data-nb-intent="add_to_cart"><span>Add to cart</span></button>' +
    '<form id="search" data-nb-intent="search"><input type="search" name="q" value="trail shoes"><button id="go">Go</button></form>';

  it("a click on data-nb-intent, and a search form's submit with its term, count and are sent", async () => {
    const page = await openPage({ body: PRODUCT, head: '<meta name="nb:page-type" content="product">' });
    await page.client.consent({ personalization: true, analytics: true });
    (page.doc.querySelector("#add span") as HTMLElement).click();
    // The click on the submit button is not the intent; the submit it causes is.
    page.doc.getElementById("search")!.addEventListener("submit", (event) => event.preventDefault());
    (page.doc.getElementById("go") as HTMLElement).click();
    await settle();
    await page.client.refresh();
    expect(page.decides.at(-1)!.body.context.signals).toMatchObject({ add_to_cart: 1, search: 1, lastSearch: "trail shoes", product_view: 1 });
    page.hide();
    await settle();
    expect(page.sent().map((event) => event.name)).toEqual(["add_to_cart", "search"]);
  });

  it("track() counts any action, keeps the last search (200 characters at most) and lasts the session", async () => {
    const page = await openPage();
    await page.client.consent({ personalization: true, analytics: false });
    page.client.track("search", { term: "x".repeat(250) });
    page.client.track("search", { term: "rain jacket" });
    page.client.track("quote_requested");
    await settle();
    expect(page.client.signals()).toMatchObject({ search: 2, lastSearch: "rain jacket", quote_requested: 1 });
    page.client.track("search", { term: "y".repeat(250) });
    await settle();
    expect(page.client.signals().lastSearch).toBe("y".repeat(200));
  });
});
