// The prefix's link mapping (worker/proxy/link-stream.ts) in workerd: which links change, that
// every other byte is the origin's, that chunk boundaries change nothing, and that it maps the
// same links as the HTMLRewriter handlers it replaced (the reference, computed by lol-html).
import { describe, expect, it } from "vitest";
import { linkMappedBody } from "../../worker/proxy/link-body.ts";
import type { LinkRewrite } from "../../worker/proxy/rewrite.ts";
import { encoder, links, map, ORIGIN, page, through } from "./link-pages.ts";

const text = async (html: string, rewrite?: LinkRewrite) => new TextDecoder().decode((await through([encoder.encode(html)], rewrite)).bytes);

describe("linkMappedBody", () => {
  it.each([
    ['<a href="/x">', '<a href="/edge/x">'],
    ["<A HREF='/x' class=y>", "<A HREF='/edge/x' class=y>"],
    ["<a href=/x>", "<a href=/edge/x>"],
    ['<area href="/m"><form action="/s" method=get>', '<area href="/edge/m"><form action="/edge/s" method=get>'],
    ['<a title="/t" href="/x" data-href="/d">', '<a title="/t" href="/edge/x" data-href="/d">'],
    // Browsers read the first of duplicate attributes; only it is mapped.
    ['<a href="/x" href="/y">', '<a href="/edge/x" href="/y">'],
    // Values as written: entities kept, a value starting with one (or a space) is not root-relative.
    ['<a href="/a?b=1&amp;c=2">', '<a href="/edge/a?b=1&amp;c=2">'],
    ['<a href="&#47;x"><a href=" /x"><a href=""><a href>', '<a href="&#47;x"><a href=" /x"><a href=""><a href>'],
    ['<a href="https://origin.test/p?q">', '<a href="http://w.test/edge/p?q">'],
    ['<a href="//cdn.test/x"><a href="https://other.test/x"><a href="rel/x">', '<a href="//cdn.test/x"><a href="https://other.test/x"><a href="rel/x">'],
    ['<link href="/s.css"><img src="/i.png"><base href="/"><iframe src="/f"></iframe>', '<link href="/s.css"><img src="/i.png"><base href="/"><iframe src="/f"></iframe>'],
    // Raw text, comments: a link-like string there is text, not a link.
    ["<script>document.write('<a href=\"/x\">')</script>", "<script>document.write('<a href=\"/x\">')</script>"],
    ['<style>a[href="/x"]{}</style><title><a href="/x"></title><textarea><a href="/x"></textarea>', '<style>a[href="/x"]{}</style><title><a href="/x"></title><textarea><a href="/x"></textarea>'],
    ['<!-- <a href="/x"> --><a href="/y">', '<!-- <a href="/x"> --><a href="/edge/y">'],
    ['<svg><a href="/x"><text>t</text></a></svg>', '<svg><a href="/edge/x"><text>t</text></a></svg>'],
    ['<a href="/café">', '<a href="/edge/café">'],
    // In SVG and MathML `title`, `style`… are elements, not raw text; an HTML integration point
    // (`foreignObject`, `desc`, `title`) is HTML again.
    ['<svg><title/><a href="/1">x</a></svg><a href="/2">y</a>', '<svg><title/><a href="/edge/1">x</a></svg><a href="/edge/2">y</a>'],
    ['<math><style><a href="/1">x</a></style></math>', '<math><style><a href="/edge/1">x</a></style></math>'],
    ['<svg><foreignObject><style><a href="/1"></style></foreignObject><a href="/2"/></svg>', '<svg><foreignObject><style><a href="/1"></style></foreignObject><a href="/edge/2"/></svg>'],
    ['<svg><desc><title><a href="/1"></title></desc></svg>', '<svg><desc><title><a href="/1"></title></desc></svg>'],
    ['<constructor href="/1"><__proto__ href="/2"><a href="/3">', '<constructor href="/1"><__proto__ href="/2"><a href="/edge/3">'],
    // Not a tag: `<xy<a` is one tag name.
    ['<p><xy<a href="/1">q</p>', '<p><xy<a href="/1">q</p>'],
  ])("%s → %s", async (html, expected) => {
    expect(await text(`<body>${html}x</body>`)).toBe(`<body>${expected}x</body>`);
  });

  it.each([
    ["unquoted, with a space", "<a href=/x>", '<a href="/edge/x y">'],
    ["double quotes", '<a href="/x">', '<a href="/edge/x&quot;y">'],
    ["single quotes", "<a href='/x'>", "<a href='/edge/x&#39;y'>"],
  ])("writes a mapped value back safely in its quotes (%s)", async (_name, html, expected) => {
    const odd = { ...links, map: (u: string) => `/edge${u}${expected.includes("&quot;") ? '"y' : expected.includes("&#39;") ? "'y" : " y"}` };
    expect(await text(html, odd)).toBe(expected);
  });

  it("keeps every byte outside the mapped values: a BOM, invalid UTF-8, windows-1252 bytes", async () => {
    const bytes = new Uint8Array([0xef, 0xbb, 0xbf, ...encoder.encode('<p>a\u00e9</p><a href="/x">'), 0x80, 0x9d, 0xff, 0xc3, ...encoder.encode('<a href="/y">')]);
    const { bytes: out } = await through([bytes]);
    const expected = new Uint8Array([0xef, 0xbb, 0xbf, ...encoder.encode('<p>a\u00e9</p><a href="/edge/x">'), 0x80, 0x9d, 0xff, 0xc3, ...encoder.encode('<a href="/edge/y">')]);
    expect([...out]).toEqual([...expected]);
  });

  it("maps a value in the page's own charset by putting the prefix before its bytes (windows-1252)", async () => {
    const page = (path: number[]) => new Uint8Array([...encoder.encode('<a href="'), ...path, ...encoder.encode('">')]);
    const cafe = [...encoder.encode("/caf"), 0xe9, ...encoder.encode("/x")];
    expect([...(await through([page(cafe)], links, "windows-1252")).bytes]).toEqual([...page([...encoder.encode("/edge"), ...cafe])]);
    // A mapping that parses the URL (the origin's absolute links) cannot be written back in that
    // charset without its encoder: left as it is.
    const absolute = [...encoder.encode(`${ORIGIN}/caf`), 0xe9];
    expect([...(await through([page(absolute)], links, "windows-1252")).bytes]).toEqual([...page(absolute)]);
  });

  it("leaves a value that is not UTF-8 as it is", async () => {
    const bytes = new Uint8Array([...encoder.encode('<a href="/caf'), 0xe9, ...encoder.encode('">')]);
    expect([...(await through([bytes])).bytes]).toEqual([...bytes]);
  });

  const PAGE = `<!doctype html><html><head><title>a <a href="/t"></title><script>if (a<b) x('<a href="/s">')</script></head>
<body><nav><a class="n" href="/shoes">Shoes</a><A HREF=/bags>Bags</A><a href='https://origin.test/j?x=1&amp;y'>J</a></nav>
<!-- <a href="/c"> --><form action="/search"><input name=q></form><svg><a href="/v"/></svg><p>1 < 2 > 0</p>
<a href="/café">é</a><textarea><a href="/ta"></textarea><area href="/m"><p><xy<a href="/not">q</p>
<svg><title/><a href="/svg">s</a></svg><a href="/after">a</a></body></html>`;

  it("gives the same bytes however the page is split into chunks", async () => {
    const whole = encoder.encode(PAGE);
    const expected = [...(await through([whole])).bytes];
    const mappedPage = new TextDecoder().decode(new Uint8Array(expected));
    expect(mappedPage).toContain('<A HREF=/edge/bags>');
    expect(mappedPage).toContain('<xy<a href="/not">');
    expect(mappedPage).toContain('<a href="/edge/svg">s</a></svg><a href="/edge/after">');
    for (let at = 1; at < whole.length; at++) {
      expect([...(await through([whole.subarray(0, at), whole.subarray(at)])).bytes], `split at ${at}`).toEqual(expected);
    }
    expect([...(await through([...whole].map((b) => new Uint8Array([b])))).bytes]).toEqual(expected);
    // A reviewer's split: the second `<` is not a tag's start, the first one is.
    const split = ["<xy<", "a", " ", 'href="/1">'].map((c) => encoder.encode(c));
    expect(new TextDecoder().decode((await through(split)).bytes)).toBe('<xy<a href="/1">');
  });

  it("streams: what precedes an unfinished tag is sent before the rest of the page arrives", async () => {
    let release!: () => void;
    const more = new Promise<void>((r) => (release = r));
    const source = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(encoder.encode('<body><a href="/x">x</a><p>text</p><a hr'));
        await more;
        controller.enqueue(encoder.encode('ef="/y">y</a></body>'));
        controller.close();
      },
    });
    const reader = linkMappedBody(source, links).getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toBe('<body><a href="/edge/x">x</a><p>text</p>');
    release();
    let rest = "";
    for (let r = await reader.read(); !r.done; r = await reader.read()) rest += new TextDecoder().decode(r.value);
    expect(rest).toBe('<a href="/edge/y">y</a></body>');
  });

  it("sends a tag that never ends instead of holding the page (unmapped past 256 KiB)", async () => {
    const open = encoder.encode(`<a href="/x${"a".repeat(300_000)}`);
    const { bytes, chunks } = await through([open.subarray(0, 100_000), open.subarray(100_000, 200_000), open.subarray(200_000), encoder.encode('"><a href="/y">')]);
    expect(chunks).toBeGreaterThan(1);
    expect(new TextDecoder().decode(bytes)).toBe(`<a href="/x${"a".repeat(300_000)}"><a href="/edge/y">`);
  });

  it("a long tag held over many small chunks comes out whole (the held bytes are not copied per chunk)", async () => {
    const page = encoder.encode(`<div data-page="${"x".repeat(200_000)}"><a href="/y">y</a>`);
    const chunks = Array.from({ length: Math.ceil(page.length / 256) }, (_, i) => page.subarray(i * 256, (i + 1) * 256));
    expect(new TextDecoder().decode((await through(chunks)).bytes)).toBe(`<div data-page="${"x".repeat(200_000)}"><a href="/edge/y">y</a>`);
  });

  /** The mapping it replaced: an HTMLRewriter handler on each root-relative or origin link. */
  async function byHtmlRewriter(html: string): Promise<string> {
    let rewriter = new HTMLRewriter();
    for (const [tags, attribute] of [[["a", "area"], "href"], [["form"], "action"]] as const) {
      const selector = tags.flatMap((tag) => ["/", ORIGIN].map((start) => `${tag}[${attribute}^="${start}"]`)).join(", ");
      rewriter = rewriter.on(selector, {
        element(el) {
          const url = el.getAttribute(attribute)!;
          if (map(url) !== url) el.setAttribute(attribute, map(url));
        },
      });
    }
    return rewriter.transform(new Response(html, { headers: { "content-type": "text/html; charset=utf-8" } })).text();
  }

  it.each([1, 2, 3, 4, 5])("maps exactly the links HTMLRewriter's handlers mapped (generated page, seed %i)", async (seed) => {
    const html = page(seed);
    const reference = await byHtmlRewriter(html);
    expect(reference).not.toBe(html);
    const whole = encoder.encode(html);
    const chunks = Array.from({ length: Math.ceil(whole.length / 1000) }, (_, i) => whole.subarray(i * 1000, (i + 1) * 1000));
    // The one intended difference: lol-html writes a value it changed in double quotes, this
    // stream keeps the page's own quotes.
    const doubleQuoted = (html: string) => html.replace(/href='([^']*)'/g, 'href="$1"');
    const mapped = new TextDecoder().decode((await through(chunks)).bytes);
    expect(mapped).toContain("href='/edge/q/");
    expect(doubleQuoted(mapped)).toBe(doubleQuoted(reference));
  });
});
