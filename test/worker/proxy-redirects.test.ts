import { describe, expect, it } from "vitest";
import { proxyConfigFromEnv } from "../../worker/proxy/config.ts";
import { MAPPED_PAGES } from "../../worker/proxy/link-body.ts";
import { externalOrigin, html, proxied } from "./proxy-helpers.ts";

const ORIGIN = "https://origin.test:8443";
let pageNumber = 0;
const vars = { PROXY_ORIGIN: ORIGIN, PROXY_PREFIX: "/edge" };

describe("URLs naming the origin are moved behind the Worker", () => {
  it.each([
    [`${ORIGIN}/plain.html`, "http://nextbest.test/edge/plain.html"],
    [`${ORIGIN}/a/b?x=1#top`, "http://nextbest.test/edge/a/b?x=1#top"],
    [`${ORIGIN}`, "http://nextbest.test/edge/"],
    ["//origin.test:8443/p", "http://nextbest.test/edge/p"],
    ["HTTPS://ORIGIN.TEST:8443/p", "http://nextbest.test/edge/p"],
    ["/plain.html", "/edge/plain.html"],
    ["/plain.html?next=/x", "/edge/plain.html?next=/x"],
    ["plain.html", "plain.html"],
    ["https://origin.test/other-port", "https://origin.test/other-port"],
    ["http://origin.test:8443/other-scheme", "http://origin.test:8443/other-scheme"],
    ["https://elsewhere.example/x", "https://elsewhere.example/x"],
    ["/\\elsewhere.example/x", "/\\elsewhere.example/x"],
  ])("Location %s → %s (Content-Location too)", async (location, expected) => {
    externalOrigin(() => new Response(null, { status: 302, headers: { location, "content-location": location } }));
    const res = await proxied("/edge/start", {}, { vars });
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe(expected);
    expect(res.headers.get("content-location")).toBe(expected);
  });

  it.each([
    [`0; url=${ORIGIN}/plain.html`, "0; url=http://nextbest.test/edge/plain.html"],
    [`5;URL='${ORIGIN}/x'`, "5;URL='http://nextbest.test/edge/x'"],
    ["3, /next", "3, /edge/next"],
    ["10", "10"],
    ["1; url=https://elsewhere.example/", "1; url=https://elsewhere.example/"],
  ])("Refresh %s → %s", async (refresh, expected) => {
    externalOrigin(() => html("<p>wait</p>", { refresh }));
    const res = await proxied("/edge/styles.css", {}, { vars });
    expect(res.headers.get("refresh")).toBe(expected);
  });

  it.each([
    ["sid=1; Domain=origin.test; Path=/; HttpOnly; Secure", "sid=1; Domain=nextbest.test; Path=/edge; HttpOnly; Secure"],
    ["sid=1; domain=.Origin.Test; path=/account", "sid=1; Domain=nextbest.test; Path=/edge/account"],
    ["sid=1; Path=/", "sid=1; Path=/edge"],
    ["sid=1", "sid=1"],
    ["sid=1; Domain=elsewhere.example; Path=/", "sid=1; Domain=elsewhere.example; Path=/edge"],
    ["sid=a=b; Max-Age=60; SameSite=Lax", "sid=a=b; Max-Age=60; SameSite=Lax"],
  ])("Set-Cookie %s → %s", async (cookie, expected) => {
    externalOrigin(() => new Response("x", { headers: { "set-cookie": cookie, "content-type": "text/plain" } }));
    const res = await proxied("/edge/api", {}, { vars });
    expect(res.headers.getSetCookie()).toEqual([expected]);
  });

  it("maps every Set-Cookie of a response, and absolute links in the page", async () => {
    externalOrigin(() => {
      const headers = new Headers({ "content-type": "text/html" });
      headers.append("set-cookie", "a=1; Path=/");
      headers.append("set-cookie", "b=2; Domain=origin.test");
      return new Response(`<a href="${ORIGIN}/x">x</a><a href="https://elsewhere.example/y">y</a><form action="/search"></form>`, { headers });
    });
    const res = await proxied("/edge/", {}, { vars });
    expect(res.headers.getSetCookie()).toEqual(["a=1; Path=/edge", "b=2; Domain=nextbest.test"]);
    expect(await res.text()).toBe(`<a href="http://nextbest.test/edge/x">x</a><a href="https://elsewhere.example/y">y</a><form action="/edge/search"></form>`);
  });

  it("an HTML answer of a personalised path varies on Accept: an <img> request gets the origin's bytes, a navigation the mapped page", async () => {
    const page = '<a href="/x">x</a>';
    externalOrigin(() => html(page, { etag: '"v1"', "cache-control": "max-age=60" }));
    const asImage = await proxied("/edge/page", { headers: { accept: "image/png" } }, { vars });
    expect(await asImage.text()).toBe(page);
    const asPage = await proxied("/edge/page", { headers: { accept: "text/html" } }, { vars });
    expect(await asPage.text()).toBe('<a href="/edge/x">x</a>');
    for (const res of [asImage, asPage]) expect(res.headers.get("vary")).toContain("Accept");
    externalOrigin(() => new Response("body{}", { headers: { "content-type": "text/css" } }));
    expect((await proxied("/edge/styles.css", { headers: { accept: "text/css" } }, { vars })).headers.get("vary")).toBeNull();
  });

  it("a page whose bytes change between requests is mapped as it is now (the isolate replays only identical bytes)", async () => {
    const version = (v: number, link: string) => `<!doctype html><p>${"text ".repeat(2000)}v${v}</p><a href="${link}">l</a><p>${"more ".repeat(2000)}</p>`;
    const pages = [version(1, "/one"), version(1, "/one"), version(2, "/two"), version(2, "https://elsewhere.example/"), version(1, "/one")];
    for (const [i, page] of pages.entries()) {
      externalOrigin(() => html(page));
      const mapped = page.replace('href="/', 'href="/edge/');
      expect(await (await proxied("/edge/changing", { headers: { accept: "text/html" } }, { vars })).text(), `request ${i + 1}`).toBe(mapped);
    }
  });

  it("a page the origin marks private (one user's) is not recorded for replay; a shared one is", async () => {
    const page = '<a href="/x">x</a>';
    const kept = () => MAPPED_PAGES.size.pages;
    const before = kept();
    externalOrigin(() => html(page, { "cache-control": "private, max-age=0" }));
    expect(await (await proxied("/edge/private-page", { headers: { accept: "text/html" } }, { vars })).text()).toBe('<a href="/edge/x">x</a>');
    expect(kept()).toBe(before);
    externalOrigin(() => html(page, { "cache-control": "no-cache" }));
    expect(await (await proxied("/edge/shared-page", { headers: { accept: "text/html" } }, { vars })).text()).toBe('<a href="/edge/x">x</a>');
    expect(kept()).toBe(before + 1);
  });

  it.each([
    ["Cache-Control: no-store", false, { "cache-control": "no-store" }, {}],
    ["Cache-Control: no-cache, private", false, { "cache-control": "no-cache, private" }, {}],
    ['Cache-Control: private="set-cookie"', false, { "cache-control": 'private="set-cookie", max-age=60' }, {}],
    ["credentials forwarded", false, {}, { authorization: "Bearer t" }],
    ["Cache-Control: x-private-thing, no-cache", true, { "cache-control": "x-private-thing, no-cache" }, {}],
  ] as const)("a page with %s is recorded for replay: %s", async (_name, recorded, originHeaders, requestHeaders) => {
    const before = MAPPED_PAGES.size.pages;
    externalOrigin(() => html('<a href="/x">x</a>', originHeaders));
    const path = `/edge/page-${++pageNumber}`;
    const res = await proxied(path, { headers: { accept: "text/html", ...requestHeaders } }, { vars: { ...vars, PROXY_FORWARD_AUTH: "true" } });
    expect(await res.text()).toBe('<a href="/edge/x">x</a>');
    expect(MAPPED_PAGES.size.pages).toBe(before + (recorded ? 1 : 0));
  });

  it("an origin that cannot be reached answers 502 bad_gateway", async () => {
    externalOrigin(() => Promise.reject(new Error("Network connection lost.")));
    const res = await proxied("/edge/down", { headers: { accept: "text/html" } }, { vars });
    expect(res.status).toBe(502);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("bad_gateway");
  });

  it("an origin that sends no headers within PROXY_ORIGIN_TIMEOUT_MS answers 504 gateway_timeout, and its request is aborted", async () => {
    let aborted = false;
    externalOrigin((request) => new Promise<Response>((_, reject) => request.signal.addEventListener("abort", () => ((aborted = true), reject(new Error("aborted"))))));
    const res = await proxied("/edge/hangs", { headers: { accept: "text/html" } }, { vars: { ...vars, PROXY_ORIGIN_TIMEOUT_MS: "100" } });
    expect(res.status).toBe(504);
    expect(await res.json()).toEqual({ error: { code: "gateway_timeout", message: "the origin sent no response headers within 100 ms" } });
    expect(aborted).toBe(true);
  });

  it("an origin that rejects at once when aborted still gives 504, not 502 (PROXY_ORIGIN=assets)", async () => {
    const res = await proxied("/edge/hangs", { headers: { accept: "text/html" } }, {
      vars: { PROXY_ORIGIN_TIMEOUT_MS: "100" },
      assets: (request) => new Promise<Response>((_, reject) => request.signal.addEventListener("abort", () => reject(new Error("aborted")))),
    });
    expect(res.status).toBe(504);
  });

  it("a request with a body is not timed: an upload slower than the timeout reaches the origin and is answered", async () => {
    externalOrigin(async (request) => new Response(`got ${(await request.text()).length} bytes`));
    const encoder = new TextEncoder();
    const upload = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(encoder.encode("a".repeat(1000)));
        await new Promise((r) => setTimeout(r, 300));
        controller.enqueue(encoder.encode("b".repeat(1000)));
        controller.close();
      },
    });
    const res = await proxied("/edge/upload", { method: "POST", body: upload, duplex: "half" } as RequestInit, { vars: { ...vars, PROXY_ORIGIN_TIMEOUT_MS: "100" } });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("got 2000 bytes");
  });

  it("only the headers are timed: a body that pauses longer than the timeout still streams whole", async () => {
    externalOrigin(() => {
      const encoder = new TextEncoder();
      const body = new ReadableStream<Uint8Array>({
        async start(controller) {
          controller.enqueue(encoder.encode('<a href="/first">1</a>'));
          await new Promise((r) => setTimeout(r, 300));
          controller.enqueue(encoder.encode('<a href="/after-the-pause">2</a>'));
          controller.close();
        },
      });
      return new Response(body, { headers: { "content-type": "text/html" } });
    });
    const res = await proxied("/edge/slow-body", { headers: { accept: "text/html" } }, { vars: { ...vars, PROXY_ORIGIN_TIMEOUT_MS: "100" } });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('<a href="/edge/first">1</a><a href="/edge/after-the-pause">2</a>');
  });

  it.each(["", "0", "-5", "soon"])("PROXY_ORIGIN_TIMEOUT_MS=%j: the 30 s default (an origin answering in 50 ms is served)", async (value) => {
    externalOrigin(() => new Promise((r) => setTimeout(() => r(html("<p>late</p>")), 50)));
    const res = await proxied("/edge/late", { headers: { accept: "text/html" } }, { vars: { ...vars, PROXY_ORIGIN_TIMEOUT_MS: value } });
    expect(res.status).toBe(200);
    expect(proxyConfigFromEnv({ ...vars, PROXY_ORIGIN_TIMEOUT_MS: value })?.originTimeoutMs).toBe(30_000);
  });

  it.each([
    ["2500", 2500],
    ["250000", 100_000],
  ])("PROXY_ORIGIN_TIMEOUT_MS=%s: %i ms (at most Cloudflare's own 100 s)", (value, ms) => {
    expect(proxyConfigFromEnv({ ...vars, PROXY_ORIGIN_TIMEOUT_MS: value })?.originTimeoutMs).toBe(ms);
  });

  it("an origin with a base path: its paths lose the base, others are left alone", async () => {
    externalOrigin(() => new Response(null, { status: 301, headers: { location: `${ORIGIN}/shop/cart` } }));
    expect((await proxied("/edge/x", {}, { vars: { ...vars, PROXY_ORIGIN: `${ORIGIN}/shop` } })).headers.get("location")).toBe("http://nextbest.test/edge/cart");
    externalOrigin(() => new Response(null, { status: 301, headers: { location: "/blog/" } }));
    expect((await proxied("/edge/x", {}, { vars: { ...vars, PROXY_ORIGIN: `${ORIGIN}/shop` } })).headers.get("location")).toBe("/blog/");
  });

  it("with no prefix, absolute redirects to the origin still land on the Worker", async () => {
    externalOrigin(() => new Response(null, { status: 302, headers: { location: `${ORIGIN}/plain.html` } }));
    const res = await proxied("/somewhere", {}, { vars: { ...vars, PROXY_PREFIX: "" } });
    expect(res.headers.get("location")).toBe("http://nextbest.test/plain.html");
  });
});
