import { beforeEach, describe, expect, it } from "vitest";
import {
  createNextbest, detectDevice, readDevice, readPageCategory, readPageTags, readPageSignals, readPageType, readReferrer,
  readUtm, trackEngagement,
} from "../../client/index.ts";
import { decidingFetch, freshStore, manualClock, setPage } from "./helpers.ts";

beforeEach(() => setPage());

/** What the request carries: JSON leaves undefined signals out. */
const onTheWire = <T>(value: T): T => JSON.parse(JSON.stringify(value));

describe("pageTags", () => {
  it.each([
    { content: "Sale, bereavement ,,", want: ["sale", "bereavement"] },
    { content: "", want: undefined },
    { content: Array.from({ length: 25 }, (_, i) => `t${i}`).join(","), want: Array.from({ length: 20 }, (_, i) => `t${i}`) },
  ])("<meta name=nb:tags content=$content> → $want", ({ content, want }) => {
    setPage({ head: `<meta name="nb:tags" content="${content}">` });
    expect(readPageTags()).toEqual(want);
    expect(readPageSignals().pageTags).toEqual(want);
  });
});

describe("pageCategory", () => {
  it("comes from <meta name=nb:category>, trimmed and lower-cased", () => {
    setPage({ head: '<meta name="nb:category" content=" Shoes ">' });
    expect(readPageCategory()).toBe("shoes");
  });

  it("falls back to data-nb-category on <body>", () => {
    setPage({ bodyAttributes: { "data-nb-category": "bags" } });
    expect(readPageCategory()).toBe("bags");
  });

  it.each([
    { name: "category", attribute: "data-nb-category", value: "Bags", read: () => readPageCategory(), want: "bags" },
    { name: "page type", attribute: "data-nb-page-type", value: "search", read: () => readPageType(), want: "search" },
    { name: "tags", attribute: "data-nb-tags", value: "sale,new", read: () => readPageTags(), want: ["sale", "new"] },
  ])("$name can also be declared with <body $attribute>", ({ attribute, value, read, want }) => {
    setPage({ bodyAttributes: { [attribute]: value } });
    expect(read()).toEqual(want);
  });

  it("prefers the meta tag over the body attribute", () => {
    setPage({ head: '<meta name="nb:category" content="jackets">', bodyAttributes: { "data-nb-category": "bags" } });
    expect(readPageCategory()).toBe("jackets");
  });

  it("is omitted from the signals when absent", () => {
    expect(readPageCategory()).toBeUndefined();
    expect(onTheWire(readPageSignals())).not.toHaveProperty("pageCategory");
  });

  it("is cut to 200 characters", () => {
    setPage({ head: `<meta name="nb:category" content="${"x".repeat(300)}">` });
    expect(readPageCategory()).toBe("x".repeat(200));
  });
});

describe("pageType", () => {
  it.each(["home", "category", "product", "cart", "search", "other"])("reads %s from <meta name=nb:page-type>", (type) => {
    setPage({ head: `<meta name="nb:page-type" content="${type}">` });
    expect(readPageType()).toBe(type);
  });

  it("is 'other' when missing or unknown", () => {
    expect(readPageType()).toBe("other");
    setPage({ head: '<meta name="nb:page-type" content="checkout-step-2">' });
    expect(readPageType()).toBe("other");
  });
});

describe("referrer", () => {
  it("keeps only the hostname", () => {
    setPage({ referrer: "https://www.google.com/search?q=trail+shoes&user=me" });
    expect(readReferrer()).toBe("www.google.com");
    expect(readPageSignals().referrer).toBe("www.google.com");
  });

  it("is omitted when empty or unparsable", () => {
    expect(readReferrer()).toBeUndefined();
    expect(onTheWire(readPageSignals())).not.toHaveProperty("referrer");
    setPage({ referrer: "not a url" });
    expect(readReferrer()).toBeUndefined();
  });
});

describe("utm", () => {
  it("reads all five utm_* parameters from the page URL", () => {
    setPage({ path: "/shoes.html?utm_source=newsletter&utm_medium=email&utm_campaign=spring&utm_term=trail&utm_content=hero&x=1" });
    expect(readPageSignals().utm).toEqual({ source: "newsletter", medium: "email", campaign: "spring", term: "trail", content: "hero" });
  });

  it("keeps only the parameters present and cuts them to 200 characters", () => {
    expect(readUtm(`https://shop.example/?utm_source=${"s".repeat(250)}&utm_medium=`)).toEqual({ source: "s".repeat(200) });
  });

  it("is omitted when the URL has none", () => {
    setPage({ path: "/bags.html?page=2" });
    expect(onTheWire(readPageSignals())).not.toHaveProperty("utm");
  });
});

describe("device", () => {
  const IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1";
  const ANDROID_PHONE = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/120.0 Mobile Safari/537.36";
  const ANDROID_TABLET = "Mozilla/5.0 (Linux; Android 14; SM-X910) AppleWebKit/537.36 Chrome/120.0 Safari/537.36";
  const IPAD = "Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1";
  const MAC = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 Version/17.0 Safari/605.1.15";

  it("classifies by user agent first", () => {
    expect(detectDevice(IPHONE, 390, true)).toBe("mobile");
    expect(detectDevice(ANDROID_PHONE, 412, true)).toBe("mobile");
    expect(detectDevice(ANDROID_TABLET, 1280, true)).toBe("tablet");
    expect(detectDevice(IPAD, 820, true)).toBe("tablet");
  });

  it("uses a coarse pointer and the viewport width for desktop user agents (iPadOS)", () => {
    expect(detectDevice(MAC, 1024, true)).toBe("tablet");
    expect(detectDevice(MAC, 600, true)).toBe("mobile");
    expect(detectDevice(MAC, 600, false)).toBe("desktop");
    expect(detectDevice(MAC, 1440, false)).toBe("desktop");
  });

  it("reads user agent, width and pointer from the window", () => {
    const win = {
      navigator: { userAgent: MAC },
      innerWidth: 700,
      matchMedia: (query: string) => ({ matches: query === "(pointer: coarse)" }),
    } as unknown as Window;
    expect(readDevice(win)).toBe("mobile");
  });
});

/** A window whose scroll geometry the test sets, since happy-dom does no layout. */
function scrollableWindow(scrollHeight: number, innerHeight: number) {
  const win = Object.assign(new EventTarget(), {
    scrollY: 0,
    innerHeight,
    document: { documentElement: { scrollHeight } },
  });
  return {
    win: win as unknown as Window,
    scrollTo(y: number) {
      win.scrollY = y;
      win.dispatchEvent(new Event("scroll"));
    },
  };
}

describe("scrollDepth and dwellSeconds", () => {
  it("scrollDepth is the maximum fraction scrolled, not the current one", () => {
    const page = scrollableWindow(3000, 1000);
    const engagement = trackEngagement(page.win);
    expect(engagement.scrollDepth()).toBe(0);
    page.scrollTo(1000);
    expect(engagement.scrollDepth()).toBe(0.5);
    page.scrollTo(200);
    expect(engagement.scrollDepth()).toBe(0.5);
    page.scrollTo(2000);
    expect(engagement.scrollDepth()).toBe(1);
  });

  it("restart() begins a new page view (single-page apps)", () => {
    const clock = manualClock();
    const page = scrollableWindow(3000, 1000);
    const engagement = trackEngagement(page.win, clock.now);
    page.scrollTo(2000);
    clock.advance(30_000);
    page.scrollTo(0);
    engagement.restart();
    expect(engagement.scrollDepth()).toBe(0);
    expect(engagement.dwellSeconds()).toBe(0);
    page.scrollTo(500);
    clock.advance(2_500);
    expect(engagement.scrollDepth()).toBe(0.25);
    expect(engagement.dwellSeconds()).toBe(2.5);
  });

  it("scrollDepth is 0 on a page that does not scroll", () => {
    expect(trackEngagement(scrollableWindow(800, 1000).win).scrollDepth()).toBe(0);
  });

  it("dwellSeconds counts from the start of tracking", () => {
    const clock = manualClock();
    const engagement = trackEngagement(scrollableWindow(800, 1000).win, clock.now);
    expect(engagement.dwellSeconds()).toBe(0);
    clock.advance(12_340);
    expect(engagement.dwellSeconds()).toBe(12.34);
  });
});

describe("signals in the decide request", () => {
  it("carries every signal under its contract name", async () => {
    setPage({
      path: "/product-trail-runner.html?utm_source=ads&utm_campaign=spring",
      head: '<meta name="nb:category" content="shoes"><meta name="nb:page-type" content="product">',
      body: '<div data-nb-slot="hero">default</div>',
      referrer: "https://duckduckgo.com/?q=shoes",
    });
    const clock = manualClock();
    const { fetchImpl, calls } = decidingFetch();
    const client = createNextbest({ endpoint: "https://edge.example", fetchImpl, store: freshStore(), now: clock.now });
    clock.advance(4_000);
    await client.refresh();
    expect(calls[0]!.body.context.signals).toStrictEqual({
      pageCategory: "shoes",
      pageType: "product",
      categoryViews: { shoes: 1 },
      scrollDepth: 0,
      dwellSeconds: 4,
      visitCount: 1,
      referrer: "duckduckgo.com",
      utm: { source: "ads", campaign: "spring" },
      device: expect.stringMatching(/^(mobile|tablet|desktop)$/),
      // Custom signals: this session's counters and the visitor's local time.
      page_view: 1,
      product_view: 1,
      hourOfDay: new Date(clock.now()).getHours(),
    });
    expect(client.signals().dwellSeconds).toBe(4);
  });

  it.each([
    { at: Date.UTC(2026, 0, 1, 0, 30), label: "just after midnight" },
    { at: Date.UTC(2026, 0, 1, 14, 5), label: "in the afternoon" },
    { at: Date.UTC(2026, 0, 1, 23, 59), label: "just before midnight" },
  ])("hourOfDay is the visitor's local hour ($label)", async ({ at }) => {
    setPage({ body: '<div data-nb-slot="hero">default</div>' });
    const { fetchImpl, calls } = decidingFetch();
    await createNextbest({ endpoint: "https://edge.example", fetchImpl, store: freshStore(), now: () => at }).refresh();
    expect(calls[0]!.body.context.signals.hourOfDay).toBe(new Date(at).getHours());
  });

  it("leaves bookkeeping out: no lastActivity, no undefined values", async () => {
    setPage({ body: '<div data-nb-slot="hero">default</div>' });
    const { fetchImpl, calls } = decidingFetch();
    await createNextbest({ endpoint: "https://edge.example", fetchImpl, store: freshStore() }).refresh();
    const signals = calls[0]!.body.context.signals;
    expect(signals).not.toHaveProperty("lastActivity");
    expect(Object.keys(signals).sort()).toEqual(["categoryViews", "device", "dwellSeconds", "hourOfDay", "pageType", "page_view", "scrollDepth", "visitCount"]);
  });
});
