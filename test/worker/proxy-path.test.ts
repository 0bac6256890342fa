import { describe, expect, it } from "vitest";
import { encodedPath, normalisePath } from "../../worker/proxy/path.ts";
import { CONSENT, externalOrigin, html, originRequests, proxied } from "./proxy-helpers.ts";

describe("normalisePath: one path for the prefix check and the origin URL", () => {
  it.each([
    ["/edge/", "/edge/"],
    ["/%65dge/", "/edge/"],
    ["/edg%65/x", "/edge/x"],
    ["//host/x", "/host/x"],
    ["/edge//x", "/edge/x"],
    ["/edge/./a/../b", "/edge/b"],
    ["/edge/%2e%2E/b", "/b"],
    ["/edge/.%2e/b", "/b"],
    ["\\edge\\x", "/edge/x"],
    ["/edge/a b/ü", "/edge/a%20b/%C3%BC"],
    ["/edge/a%20b/%c3%bc", "/edge/a%20b/%C3%BC"],
    ["/edge/%252e%252e/x", "/edge/%252e%252e/x"],
    ["/edge/a:b@c;d=e,f+g!h'(i)*j$k&l", "/edge/a:b@c;d=e,f+g!h'(i)*j$k&l"],
    ["/edge/x/..", "/edge/"],
    ["", "/"],
  ])("%s → %s", (raw, expected) => {
    const p = normalisePath(raw);
    expect(p.ok && encodedPath(p)).toBe(expected);
  });

  it.each([
    ["/edge/a%2Fb", "encoded slash"],
    ["/edge/a%5cb", "encoded slash"],
    ["/edge/%zz", "malformed"],
    ["/edge/%E0%A4%A", "malformed"],
    ["/edge/%00", "control"],
    ["/edge/a%0d%0aSet-Cookie:x", "control"],
    ["/../x", "above the root"],
    ["/edge/../../x", "above the root"],
    [`/${"a".repeat(5000)}`, "longer"],
  ])("%s is refused (%s)", (raw, reason) => {
    const p = normalisePath(raw);
    expect(p.ok).toBe(false);
    expect(!p.ok && p.reason).toContain(reason);
  });
});

describe("proxy route paths", () => {
  it.each([
    ["/%65dge/", "/"],
    ["/edg%65/index.html", "/index.html"],
    ["/edge//host.example/x.html", "/host.example/x.html"],
    ["/edge/%2e/bags.html", "/bags.html"],
    ["/edge/a%20b.html?q=1", "/a%20b.html?q=1"],
  ])("%s reaches the demo origin as %s", async (path, expected) => {
    const res = await proxied(path, { headers: { cookie: CONSENT } });
    expect(res.status).toBeLessThan(500);
    const sent = new URL(originRequests[0]!.url);
    expect(`${sent.pathname}${sent.search}`).toBe(expected);
    expect(sent.origin).toBe("http://nextbest.test");
  });

  it.each(["/edge/a%2Fb", "/edge/a%5Cb", "/edge/%zz", "/edge/%00", "/%65dge/%E0%A4%A", "/edg%65/%2F"])("%s is a 400 in the API's error shape, and the origin is never asked", async (path) => {
    const res = await proxied(path, { headers: { cookie: CONSENT } });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: { code: "invalid_request", message: expect.stringContaining("malformed path") } });
    expect(originRequests).toHaveLength(0);
  });

  it.each([
    { prefix: "/edge", path: "/edg%65/x", expected: "http://127.0.0.1:90/x" },
    { prefix: "/edge", path: "/%65dge/00/x", expected: "http://127.0.0.1:90/00/x" },
    { prefix: "", path: "//evil.example/x", expected: "http://127.0.0.1:90/evil.example/x" },
    { prefix: "", path: "/@evil.example/x", expected: "http://127.0.0.1:90/@evil.example/x" },
    { prefix: "/edge", path: "/edge:8080/x", expected: undefined },
    { prefix: "/edge", path: "/edge/..%2f..%2fx", expected: undefined },
  ])("origin http://127.0.0.1:90, prefix '$prefix': $path goes to $expected and nowhere else", async ({ prefix, path, expected }) => {
    externalOrigin(() => html("<p>origin</p>"));
    const res = await proxied(path, {}, { vars: { PROXY_ORIGIN: "http://127.0.0.1:90", PROXY_PREFIX: prefix } });
    if (expected === undefined) {
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(originRequests).toHaveLength(0);
    } else {
      expect(res.status).toBe(200);
      expect(originRequests.map((r) => r.url)).toEqual([expected]);
    }
  });

  it("keeps the configured origin's own base path", async () => {
    externalOrigin(() => html("<p>origin</p>"));
    await proxied("/edge/%65/x?y=1", {}, { vars: { PROXY_ORIGIN: "https://origin.test:8443/shop/" } });
    expect(originRequests[0]!.url).toBe("https://origin.test:8443/shop/e/x?y=1");
  });
});
