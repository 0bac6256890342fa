import { describe, expect, it } from "vitest";
import { blockLinksMapped } from "../../worker/proxy/block-links.ts";
import { personalizeHtml, type PageFacts, type SlotFill } from "../../worker/proxy/rewrite.ts";
import { proxiedUrl, proxiedUrlMapper, rootRelativePathsChange } from "../../worker/proxy/response-headers.ts";

const PAGE = `<!doctype html><html><head><meta name="nb:category" content="Shoes"><meta name="nb:tags" content="sale,summer"><title>t</title></head>
<body><nav><a href="/shoes.html">Shoes</a> <a href="https://other.example/x">x</a></nav>
<div data-nb-slot="hero" class="slot">default hero</div>
<p>between</p><aside data-nb-slot="sidebar">default side</aside><footer>f</footer></body></html>`;

const fill = (slot: string, blockId: string): SlotFill => ({ slot, decisionId: `d-${slot}`, blockId, html: `<b>${blockId}</b>`, reason: "ranked", modelVersion: "m@1" });
const html = (body: string | ReadableStream) => new Response(body, { headers: { "content-type": "text/html; charset=utf-8" } });

describe("personalizeHtml", () => {
  it("fills every slot once and leaves all other markup identical", async () => {
    const seen: PageFacts[] = [];
    const out = await personalizeHtml(html(PAGE), async (facts) => (seen.push({ ...facts }), [fill("hero", "hero-shoes"), fill("sidebar", "side-shoes")]), { budgetMs: 1000 }).text();
    expect(seen).toEqual([{ category: "shoes", tags: ["sale", "summer"] }]);
    const expected = PAGE.replace(
      '<div data-nb-slot="hero" class="slot">default hero</div>',
      '<div data-nb-slot="hero" class="slot" data-nb-decision="d-hero" data-nb-block="hero-shoes" data-nb-reason="ranked" data-nb-source="edge"><b>hero-shoes</b></div>',
    )
      .replace(
        '<aside data-nb-slot="sidebar">default side</aside>',
        '<aside data-nb-slot="sidebar" data-nb-decision="d-sidebar" data-nb-block="side-shoes" data-nb-reason="ranked" data-nb-source="edge"><b>side-shoes</b></aside>',
      )
      .replace(
        "</body>",
        '<script type="application/json" id="nb-decisions">[{"slot":"hero","decisionId":"d-hero","blockId":"hero-shoes","reason":"ranked","modelVersion":"m@1"},{"slot":"sidebar","decisionId":"d-sidebar","blockId":"side-shoes","reason":"ranked","modelVersion":"m@1"}]</script></body>',
      );
    expect(out).toBe(expected);
  });

  it("reads the page's facts from its nb: meta tags only, by their exact names", async () => {
    const head = [
      '<meta name="nb:page-type" content=" PDP ">',
      '<meta name="nb:slots" content="Hero, sidebar">',
      '<meta name="NB:category" content="ignored">',
      '<meta name="nb:other" content="ignored">',
      '<meta name="category" content="ignored">',
      '<meta name="nb:category" content="first">',
      '<meta name="nb:category" content="Bags">',
    ].join("");
    const seen: PageFacts[] = [];
    await personalizeHtml(html(`<html><head>${head}</head><body></body></html>`), async (facts) => (seen.push({ ...facts }), []), { budgetMs: 1000 }).text();
    expect(seen).toEqual([{ pageType: "pdp", slots: ["hero", "sidebar"], category: "bags" }]);
  });

  it("leaves a page without slots byte-identical", async () => {
    const page = "<html><head></head><body><p>no slots here</p></body></html>";
    expect(await personalizeHtml(html(page), async () => [], { budgetMs: 100 }).text()).toBe(page);
  });

  it.each([
    { name: "the decider fails", decider: async () => Promise.reject(new Error("boom")) },
    { name: "the decider exceeds the budget", decider: () => new Promise<SlotFill[]>(() => {}) },
  ])("streams the page unchanged when $name", async ({ decider }) => {
    expect(await personalizeHtml(html(PAGE), decider, { budgetMs: 20 }).text()).toBe(PAGE);
  });

  const links = { origin: "https://origin.test", map: (u: string) => (u.startsWith("/") && !u.startsWith("//") ? `/edge${u}` : u.startsWith("https://origin.test/") ? `http://w.test/edge${u.slice(19)}` : u), rootRelative: true };

  it.each([
    ['<a href="/shoes.html">', '<a href="/edge/shoes.html">'],
    ['<a class="x" href="/a?b=1#c" data-y>', '<a class="x" href="/edge/a?b=1#c" data-y>'],
    ['<area href="/map">', '<area href="/edge/map">'],
    ['<form action="/search" method="get">', '<form action="/edge/search" method="get">'],
    ['<a href="https://origin.test/x">', '<a href="http://w.test/edge/x">'],
    // Tags whose URL does not change are left exactly as written (not re-serialised).
    ["<a  href='https://other.example/x'  >", "<a  href='https://other.example/x'  >"],
    ["<a HREF=//cdn.example/x >", "<a HREF=//cdn.example/x >"],
    ["<a href=rel/x TITLE=t>", "<a href=rel/x TITLE=t>"],
    ['<link href="/style.css"><img src="/i.png">', '<link href="/style.css"><img src="/i.png">'],
  ])("maps navigation links: %s → %s", async (tag, expected) => {
    const out = await personalizeHtml(html(`<body>${tag}x</body>`), undefined, { budgetMs: 100, links }).text();
    expect(out).toBe(`<body>${expected}x</body>`);
  });

  describe("without a prefix or origin base path (root-relative links stay as they are)", () => {
    const map = { workerOrigin: "http://w.test", prefix: "", origin: new URL("https://origin.test") };
    const noPrefix = { origin: "https://origin.test", map: proxiedUrlMapper(map), rootRelative: rootRelativePathsChange(map) };

    it.each([
      ['<a href="/shoes.html">', '<a href="/shoes.html">'],
      ['<a href="https://origin.test/x?y=1">', '<a href="http://w.test/x?y=1">'],
      ['<a href="//origin.test/x">', '<a href="http://w.test/x">'],
      ['<a href="/\\origin.test/x">', '<a href="http://w.test/x">'],
      ['<form action="//origin.test/search">', '<form action="http://w.test/search">'],
      ['<a href="//cdn.example/x">', '<a href="//cdn.example/x">'],
      // Tag and attribute names in any case; each tag's own URL attribute only.
      ['<A HREF="//origin.test/x">', '<A HREF="http://w.test/x">'],
      ['<AREA href="https://origin.test/m">', '<AREA href="http://w.test/m">'],
      ['<Form Action="//origin.test/s">', '<Form Action="http://w.test/s">'],
      ['<a href="/x" action="//origin.test/y">', '<a href="/x" action="//origin.test/y">'],
      ['<form action="/s" href="//origin.test/z">', '<form action="/s" href="//origin.test/z">'],
    ])("%s → %s", async (tag, expected) => {
      expect(noPrefix.rootRelative).toBe(false);
      const out = await personalizeHtml(html(`<body>${tag}x</body>`), undefined, { budgetMs: 100, links: noPrefix }).text();
      expect(out).toBe(`<body>${expected}x</body>`);
    });

    it("a page of root-relative links streams in a few chunks, not one split per link, with or without a prefix", async () => {
      const page = `<html><body>${Array.from({ length: 300 }, (_, i) => `<a href="/p/${i}">product ${i}</a>`).join("")}</body></html>`;
      const chunks = async (links: typeof noPrefix) => {
        const reader = personalizeHtml(html(page), undefined, { budgetMs: 100, links }).body!.getReader();
        let n = 0;
        for (let r = await reader.read(); !r.done; r = await reader.read()) n++;
        return n;
      };
      // With a prefix every link changes: the tokenizer pass (link-stream.ts) maps them without a
      // handler per link, which would flush the output at each (more than 300 chunks before).
      const withPrefix = { ...noPrefix, map: (u: string) => `/edge${u}`, rootRelative: true };
      expect(await chunks(withPrefix)).toBeLessThan(10);
      expect(await chunks(noPrefix)).toBeLessThan(10);
      expect(rootRelativePathsChange({ ...map, prefix: "/edge" })).toBe(true);
      expect(rootRelativePathsChange({ ...map, origin: new URL("https://origin.test/shop/") })).toBe(true);
    });
  });

  it("maps links the same way whether or not slots are filled: only the slots differ", async () => {
    const [withSlots, withoutSlots] = await Promise.all([
      personalizeHtml(html(PAGE), async () => [fill("hero", "h")], { budgetMs: 1000, links }).text(),
      personalizeHtml(html(PAGE), undefined, { budgetMs: 1000, links }).text(),
    ]);
    expect(withoutSlots).toBe(PAGE.replace('href="/shoes.html"', 'href="/edge/shoes.html"'));
    expect(withSlots).toContain('<a href="/edge/shoes.html">');
  });

  describe("a filled block's links are mapped as the page's (the page's mapping never reads inserted content)", () => {
    const block = (html: string): SlotFill => ({ ...fill("hero", "b"), html });
    const filled = async (blockHtml: string, with_: typeof links | undefined) => {
      const out = await personalizeHtml(html(PAGE), async () => [block(blockHtml)], { budgetMs: 1000, ...(with_ ? { links: with_ } : {}) }).text();
      return /data-nb-source="edge">([\s\S]*?)<\/div>/.exec(out)?.[1];
    };
    const map = { workerOrigin: "http://w.test", prefix: "", origin: new URL("https://origin.test") };
    const noPrefix = { origin: "https://origin.test", map: proxiedUrlMapper(map), rootRelative: rootRelativePathsChange(map) };

    it.each([
      { name: "a prefix: root-relative links", links, given: '<a href="/shoes.html">Shoes</a>', expected: '<a href="/edge/shoes.html">Shoes</a>' },
      { name: "a prefix: the origin's absolute links", links, given: '<a href="https://origin.test/x">x</a>', expected: '<a href="http://w.test/edge/x">x</a>' },
      { name: "a prefix: other sites and relative links as written", links, given: '<a href="https://other.example/y">y</a><a href="rel">r</a>', expected: '<a href="https://other.example/y">y</a><a href="rel">r</a>' },
      { name: "a prefix: images are not navigation", links, given: '<img src="/i.png" alt="">', expected: '<img src="/i.png" alt="" />' },
      { name: "no prefix: root-relative links as written", links: noPrefix, given: '<a href="/shoes.html">Shoes</a>', expected: '<a href="/shoes.html">Shoes</a>' },
      { name: "no prefix: the origin's absolute links behind the Worker", links: noPrefix, given: '<a href="https://origin.test/sale?x=1">Sale</a>', expected: '<a href="http://w.test/sale?x=1">Sale</a>' },
      { name: "no link rewriting: as written", links: undefined, given: '<a href="/shoes.html">Shoes</a>', expected: '<a href="/shoes.html">Shoes</a>' },
    ])("$name", async ({ links: with_, given, expected }) => {
      expect(await filled(given, with_)).toBe(expected);
    });

    it("maps a block's links after sanitising it: nothing the sanitiser removed comes back", async () => {
      expect(await filled('<a href="/a" onclick="x()">a</a><script>location="/b"</script>', links)).toBe('<a href="/edge/a">a</a>');
    });

    it("remembers a mapped block per mapping key: the same block under another key maps by that key's rules", () => {
      const block = '<a href="/shoes.html">Shoes</a>';
      const edge = { ...links, mappingKey: "w\n/edge\no" };
      const other = { ...links, map: (u: string) => `/other${u}`, mappingKey: "w\n/other\no" };
      for (let i = 0; i < 2; i++) {
        expect(blockLinksMapped(block, edge)).toBe('<a href="/edge/shoes.html">Shoes</a>');
        expect(blockLinksMapped(block, other)).toBe('<a href="/other/shoes.html">Shoes</a>');
      }
      // Remembered: the second call under a key does not run its map again.
      let calls = 0;
      const counted = { ...links, map: (u: string) => (calls++, `/counted${u}`), mappingKey: "w\n/counted\no" };
      blockLinksMapped(block, counted);
      blockLinksMapped(block, counted);
      expect(calls).toBe(1);
    });

    it("keeps mappings apart whatever their keys and blocks hold (a key ending where a block begins)", () => {
      const one = { ...links, map: (u: string) => `/one${u}`, mappingKey: "K" };
      const two = { ...links, map: (u: string) => `/two${u}`, mappingKey: "K\nZ" };
      expect(blockLinksMapped('Z\n<a href="/x">x</a>', one)).toBe('Z\n<a href="/one/x">x</a>');
      expect(blockLinksMapped('<a href="/x">x</a>', two)).toBe('<a href="/two/x">x</a>');
    });
  });

  it("keeps streaming: the first bytes arrive before the origin has finished", async () => {
    const encoder = new TextEncoder();
    let release!: () => void;
    const originDone = new Promise<void>((r) => (release = r));
    let finished = false;
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(encoder.encode(`<html><head><title>big</title></head><body><div data-nb-slot="hero">d</div>${"<p>filler</p>".repeat(2000)}`));
        await originDone; // the origin is still busy producing the rest of the page
        controller.enqueue(encoder.encode("<p>the end</p></body></html>"));
        finished = true;
        controller.close();
      },
    });
    const reader = personalizeHtml(html(body), async () => [fill("hero", "h")], { budgetMs: 1000 }).body!.getReader();
    const first = await reader.read();
    expect(finished).toBe(false);
    expect(new TextDecoder().decode(first.value)).toContain("<html>");
    release();
    let rest = "";
    for (let r = await reader.read(); !r.done; r = await reader.read()) rest += new TextDecoder().decode(r.value);
    expect(finished).toBe(true);
    expect(rest).toContain("the end");
  });
});

describe("the first byte does not wait for the decision", () => {
  // A fast origin hands over the head, the first slot and more in one read: the head must still
  // leave before the decision, whether or not the links go through the mapping stream first.
  const head = `<html><head><title>t</title>${'<link rel="preload" href="/a.css">'.repeat(80)}</head>`;
  const page = `${head}<body><div data-nb-slot="hero">d</div>${'<p><a href="/p">x</a></p>'.repeat(2000)}</body></html>`;
  const links = { origin: "https://origin.test", map: (u: string) => `/edge${u}`, rootRelative: true };

  it.each([
    { name: "links mapped (a prefix)", links },
    { name: "no links mapped", links: undefined },
  ])("the head is sent before the decision resolves, the page whole after it: $name", async ({ links }) => {
    let decide!: (fills: SlotFill[]) => void;
    const decision = new Promise<SlotFill[]>((r) => (decide = r));
    const oneRead = new ReadableStream<Uint8Array>({ start: (c) => (c.enqueue(new TextEncoder().encode(page)), c.close()) });
    const reader = personalizeHtml(html(oneRead), () => decision, { budgetMs: 10_000, ...(links ? { links } : {}) }).body!.getReader();
    const first = await Promise.race([reader.read(), new Promise<"waiting">((r) => setTimeout(() => r("waiting"), 1_000))]);
    expect(first).not.toBe("waiting");
    let out = new TextDecoder().decode((first as ReadableStreamReadResult<Uint8Array>).value);
    expect(out).toContain("<title>t</title>");
    decide([fill("hero", "h")]);
    for (let r = await reader.read(); !r.done; r = await reader.read()) out += new TextDecoder().decode(r.value);
    const expected = page
      .replace('<div data-nb-slot="hero">d</div>', '<div data-nb-slot="hero" data-nb-decision="d-hero" data-nb-block="h" data-nb-reason="ranked" data-nb-source="edge"><b>h</b></div>')
      .replace("</body>", '<script type="application/json" id="nb-decisions">[{"slot":"hero","decisionId":"d-hero","blockId":"h","reason":"ranked","modelVersion":"m@1"}]</script></body>');
    expect(out).toBe(links ? expected.replaceAll('<a href="/', '<a href="/edge/') : expected);
  });
});

describe("proxiedUrlMapper (the page's links): the same result as proxiedUrl for every link", () => {
  const values = [
    "/", "/shoes.html", "/a/b?x=1#c", "/a?next=/b", "//cdn.example/x", "/\\evil.example/x", " /padded ", "/x\u00a0", "/caf\u00e9",
    "/x ", "rel/x", "", "#top", "?q=1", "https://origin.test/x", "https://origin.test", "//origin.test/y", "https://other.example/x", "mailto:a@b.c",
  ];
  it.each([
    { prefix: "/edge", origin: "https://origin.test" },
    { prefix: "", origin: "https://origin.test" },
    { prefix: "/edge", origin: "https://origin.test/base/" },
  ])("prefix $prefix, origin $origin", ({ prefix, origin }) => {
    const map = { workerOrigin: "http://w.test", prefix, origin: new URL(origin) };
    const mapped = proxiedUrlMapper(map);
    for (const value of [...values, ...values.map((v) => `/base${v}`)]) expect([value, mapped(value)]).toEqual([value, proxiedUrl(value, map)]);
  });
});
