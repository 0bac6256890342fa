import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { call } from "./helpers.ts";
import { CONSENT, externalOrigin, html, originRequests, proxied } from "./proxy-helpers.ts";

const PAGE = `<html><head></head><body><a href="/shoes.html">s</a><div data-nb-slot="hero">default</div></body></html>`;
const heroOf = (page: string) => /<div data-nb-slot="hero"[^>]*data-nb-block="([^"]+)"/.exec(page)?.[1];
/** The demo origin's own validators for its home page. */
let home: { etag: string; lastModified: string | null };

beforeAll(async () => {
  // The first decide of an isolate starts the ONNX runtime.
  await call("/v1/decide", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ visitorId: "warm-up-proxy", slots: ["hero"], consent: { personalization: true } }) });
  const res = await env.ASSETS.fetch("http://nextbest.test/");
  home = { etag: res.headers.get("etag")!, lastModified: res.headers.get("last-modified") };
  await res.arrayBuffer();
});

describe("request headers on a path that will be personalised", () => {
  it.each([
    { name: "If-None-Match (the origin's ETag)", headers: () => ({ "if-none-match": home.etag }) },
    { name: "If-Modified-Since", headers: () => ({ "if-modified-since": home.lastModified ?? new Date().toUTCString() }) },
    { name: "Range", headers: () => ({ range: "bytes=0-99" }) },
    { name: "If-Range with Range", headers: () => ({ "if-range": home.etag, range: "bytes=0-99" }) },
    { name: "If-Match / If-Unmodified-Since", headers: () => ({ "if-match": home.etag, "if-unmodified-since": new Date(0).toUTCString() }) },
  ])("$name: the origin is asked for the whole page and the visitor gets 200, filled, no validator", async ({ headers }) => {
    expect(home.etag).toBeTruthy(); // the demo origin does answer conditional requests
    const res = await proxied("/edge/", { headers: { cookie: CONSENT, ...headers() } });
    expect(res.status).toBe(200);
    expect(heroOf(await res.text())).toBeTruthy();
    for (const h of ["etag", "last-modified", "accept-ranges", "content-range", "content-length"]) expect(res.headers.get(h)).toBeNull();
    expect(res.headers.get("cache-control")).toBe("private, no-store");
    for (const h of ["if-none-match", "if-modified-since", "if-range", "range", "if-match", "if-unmodified-since"]) expect(originRequests[0]!.headers.get(h)).toBeNull();
  });

  it.each([
    ["gzip, deflate, br, zstd", "gzip"],
    ["br, zstd", "identity"],
    ["gzip;q=0, br", "identity"],
    ["*", "gzip"],
    [null, "identity"],
  ])("Accept-Encoding %s reaches the origin as %s (a coding the runtime decodes for HTMLRewriter)", async (visitor, expected) => {
    await proxied("/edge/", { headers: { cookie: CONSENT, ...(visitor ? { "accept-encoding": visitor } : {}) } });
    expect(originRequests[0]!.headers.get("accept-encoding")).toBe(expected);
  });

  it("an origin answering in a coding HTMLRewriter cannot read passes through untouched", async () => {
    const bytes = new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 1, 2, 3]);
    externalOrigin(() => new Response(bytes, { headers: { "content-type": "text/html", "content-encoding": "zstd" } }));
    const res = await proxied("/edge/", { headers: { cookie: CONSENT } }, { vars: { PROXY_ORIGIN: "http://origin.test" } });
    expect(res.headers.get("content-encoding")).toBe("zstd");
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(bytes);
  });

  it("personalised pages drop every header that describes the origin's bytes or lets a shared cache keep them", async () => {
    const originHeaders = {
      etag: '"v1"', "last-modified": new Date(0).toUTCString(), "content-md5": "x", digest: "sha-256=x", "content-digest": "sha-256=:x:", "repr-digest": "sha-256=:x:",
      "accept-ranges": "bytes", expires: new Date(Date.now() + 3600e3).toUTCString(), age: "10", "cdn-cache-control": "max-age=3600", "cloudflare-cdn-cache-control": "max-age=3600", "surrogate-control": "max-age=3600",
    };
    externalOrigin(() => html(PAGE, { ...originHeaders, "cache-control": "public, max-age=3600", "x-site": "kept" }));
    const res = await proxied("/edge/", { headers: { cookie: CONSENT } }, { vars: { PROXY_ORIGIN: "http://origin.test" } });
    for (const h of Object.keys(originHeaders)) expect(res.headers.get(h), h).toBeNull();
    expect(res.headers.get("cache-control")).toBe("private, no-store");
    expect(res.headers.get("x-site")).toBe("kept");
  });

  it("without consent (links mapped for everyone) the origin's 304 still works, with the ETag weakened", async () => {
    const first = await proxied("/edge/", {});
    const etag = first.headers.get("etag");
    expect(etag).toBe(`W/${home.etag}`);
    expect(first.headers.get("content-length")).toBeNull();
    const again = await proxied("/edge/", { headers: { "if-none-match": etag! } });
    expect(again.status).toBe(304);
    expect(again.headers.get("etag")).toBe(`W/${home.etag}`);
    // ...and a range of the rewritten bytes is never asked of the origin.
    await proxied("/edge/", { headers: { range: "bytes=0-9", "if-range": etag! } });
    expect(originRequests.at(-1)!.headers.get("range")).toBeNull();
  });

  it("a pass-through path forwards conditional requests (the origin's 304 reaches the visitor)", async () => {
    const css = await env.ASSETS.fetch("http://nextbest.test/style.css");
    await css.arrayBuffer();
    const res = await proxied("/edge/style.css", { headers: { cookie: CONSENT, "if-none-match": css.headers.get("etag")! } });
    expect(res.status).toBe(304);
  });
});

describe("credentials and the Worker's own cookies", () => {
  // A signed-in marketer browsing the site through the proxy carries the console's session too.
  const visitorHeaders = { authorization: "Bearer visitor-secret", "proxy-authorization": "Basic eA==", cookie: `${CONSENT}; site=1; nb_vid=abcdefgh12345678; nb_console=v1.123.YW5h.nonce.mac; theme=dark`, connection: "x-hop", "x-hop": "1", "keep-alive": "timeout=5" };

  it.each<{ vars: Record<string, string>; authorization: string | null; cookie: string }>([
    { vars: {}, authorization: null, cookie: "site=1; theme=dark" },
    { vars: { PROXY_FORWARD_AUTH: "true" }, authorization: "Bearer visitor-secret", cookie: "site=1; theme=dark" },
    { vars: { PROXY_FORWARD_COOKIES: "nb_consent" }, authorization: null, cookie: `${CONSENT}; site=1; theme=dark` },
    // The console's session is an admin credential: never the origin's, even when listed.
    { vars: { PROXY_FORWARD_COOKIES: "nb_console,nb_consent" }, authorization: null, cookie: `${CONSENT}; site=1; theme=dark` },
  ])("with $vars the origin gets Authorization=$authorization and Cookie=$cookie", async ({ vars, authorization, cookie }) => {
    for (const path of ["/edge/", "/edge/style.css"]) {
      originRequests.length = 0;
      await proxied(path, { headers: visitorHeaders }, { vars });
      const sent = originRequests[0]!.headers;
      expect(sent.get("authorization")).toBe(authorization);
      expect(sent.get("cookie")).toBe(cookie);
      for (const h of ["proxy-authorization", "x-hop", "keep-alive", "connection"]) expect(sent.get(h), h).toBeNull();
    }
  });

  it("sends no Cookie header at all when only the Worker's cookies were there", async () => {
    await proxied("/edge/", { headers: { cookie: `${CONSENT}; nb_vid=abcdefgh12345678` } });
    expect(originRequests[0]!.headers.get("cookie")).toBeNull();
  });
});

describe("fields the Connection header names (RFC 9110 §7.6.1)", () => {
  it.each([
    // A field it names is hop-by-hop, the Cookie header included (the site's cookies too).
    { connection: "Cookie, X-A", cookie: null },
    // A name that is not a valid field name is ignored, not a failure; the valid ones still go.
    { connection: "foo bar, x-a", cookie: "site=1" },
  ])("Connection: $connection → X-A dropped, Cookie $cookie", async ({ connection, cookie }) => {
    originRequests.length = 0;
    const res = await proxied("/edge/style.css", { headers: { connection, "x-a": "1", "x-b": "2", cookie: "site=1; nb_vid=abcdefgh12345678" } });
    expect(res.status).toBe(200);
    const sent = originRequests[0]!.headers;
    expect(sent.get("x-a")).toBeNull();
    expect(sent.get("x-b")).toBe("2");
    expect(sent.get("cookie")).toBe(cookie);
  });
});

describe("other methods", () => {
  it("a form POST reaches the origin with its body, and the origin's answer comes back as is", async () => {
    externalOrigin(async (request) => new Response(`${request.method} ${await request.text()}`, { status: 201, headers: { "content-type": "text/plain" } }));
    const res = await proxied("/edge/cart", { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", cookie: CONSENT }, body: "sku=1&qty=2" }, { vars: { PROXY_ORIGIN: "http://origin.test" } });
    expect(res.status).toBe(201);
    expect(await res.text()).toBe("POST sku=1&qty=2");
    expect(originRequests[0]!.url).toBe("http://origin.test/cart");
  });
});
