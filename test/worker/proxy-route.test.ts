import { env } from "cloudflare:workers";
import { afterAll, describe, expect, it } from "vitest";
import { isHeldOut } from "../../worker/holdout/assign.ts";
import { call } from "./helpers.ts";
import { proxied } from "./proxy-helpers.ts";

const ADMIN = { authorization: "Bearer test-admin-token", "content-type": "application/json" };
const CONSENT = "nb_consent=personalization%3D1%26analytics%3D1";
const holdout = { rate: Number(env.HOLDOUT_RATE), salt: env.HOLDOUT_SALT };
let n = 0;
const visitor = (held: boolean) => {
  for (;;) {
    const id = `proxy-visitor-${n++}`;
    if (isHeldOut(id, holdout) === held) return id;
  }
};
const get = (path: string, cookie = "") => proxied(path, { headers: cookie ? { cookie } : {} });
/** The origin itself: this Worker's static assets. */
const origin = (path: string) => env.ASSETS.fetch(`http://nextbest.test${path}`, { redirect: "manual" });
const heroOf = (html: string) => /<div data-nb-slot="hero"[^>]*data-nb-block="([^"]+)"[^>]*data-nb-reason="([^"]+)"/.exec(html)?.slice(1, 3);

afterAll(async () => {
  await call("/admin/guardrails", { method: "PUT", headers: ADMIN, body: "{}" });
});

describe("proxy mode (PROXY_ORIGIN=assets, PROXY_PREFIX=/edge)", () => {
  it("fills the slots for a consenting visitor, privately, and sets the visitor cookie", async () => {
    const res = await get("/edge/", CONSENT);
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("private, no-store");
    expect(res.headers.get("vary")).toContain("Cookie");
    expect(res.headers.get("set-cookie")).toMatch(/^nb_vid=[0-9a-f-]{36}; Path=\/; Max-Age=\d+; SameSite=Lax$/);
    const html = await res.text();
    expect(heroOf(html)?.[1]).toMatch(/ranked|holdout/);
    expect(html).toContain('<script type="application/json" id="nb-decisions">');
  });

  it("maps the links of the block it fills as the page's own (behind the prefix)", async () => {
    const html = await (await get("/edge/", CONSENT)).text();
    // The demo's hero blocks are one link each, written root-relative in the catalog (`/shoes.html`).
    const link = /data-nb-source="edge"><a class="nb-block[^"]*" href="([^"]*)"/.exec(html)?.[1];
    expect(link).toMatch(/^\/edge\/[a-z]/);
  });

  it("without consent: the origin's page (its links behind the prefix), no cookie, nothing decided", async () => {
    const [proxied, page] = await Promise.all([get("/edge/"), origin("/")]);
    expect(proxied.headers.get("set-cookie")).toBeNull();
    const text = await proxied.text();
    expect(text).not.toContain("data-nb-decision");
    expect(text.replace(/(<a [^>]*href=")\/edge\//g, "$1/")).toBe(await page.text());
  });

  it("deletes the visitor id cookie on a page without personalisation consent (consent withdrawn)", async () => {
    const res = await get("/edge/", "nb_consent=personalization%3D0%26analytics%3D1; nb_vid=withdrawn-visitor-1");
    expect(res.headers.get("set-cookie")).toMatch(/^nb_vid=; Path=\/; Max-Age=0; SameSite=Lax$/);
    expect(await res.text()).not.toContain("data-nb-decision");
  });

  it("passes non-HTML through byte for byte with its caching headers", async () => {
    const [proxied, file] = await Promise.all([get("/edge/style.css", CONSENT), origin("/style.css")]);
    expect(proxied.status).toBe(200);
    expect(proxied.headers.get("cache-control")).toBe(file.headers.get("cache-control"));
    expect(proxied.headers.get("etag")).toBe(file.headers.get("etag"));
    expect(proxied.headers.get("set-cookie")).toBeNull();
    expect(new Uint8Array(await proxied.arrayBuffer())).toEqual(new Uint8Array(await file.arrayBuffer()));
  });

  it("passes origin errors through as they are", async () => {
    const res = await get("/edge/no-such-page.html", CONSENT);
    expect(res.status).toBe(404);
  });

  it("keeps origin redirects behind the prefix", async () => {
    const res = await get("/edge/shoes.html", CONSENT);
    if (res.status >= 300 && res.status < 400) expect(res.headers.get("location")).toMatch(/^\/edge\//);
    else expect(res.status).toBe(200);
  });

  it("personalises by what the visitor browsed through the proxy (state in the Durable Object)", async () => {
    const cookie = `${CONSENT}; nb_vid=${visitor(false)}`;
    for (let i = 0; i < 3; i++) await (await get("/edge/bags", cookie)).text();
    expect(heroOf(await (await get("/edge/", cookie)).text())).toEqual(["hero-bags-travel", "ranked"]);
  });

  it("applies holdouts exactly as /v1/decide does", async () => {
    const html = await (await get("/edge/", `${CONSENT}; nb_vid=${visitor(true)}`)).text();
    expect(heroOf(html)).toEqual(["hero-default", "holdout"]);
  });

  it("applies guardrails exactly as /v1/decide does", async () => {
    const id = visitor(false);
    await call("/admin/guardrails", { method: "PUT", headers: ADMIN, body: JSON.stringify({ exclusions: { campaigns: { "travel-bags": { visitorIds: [id] } } } }) });
    const cookie = `${CONSENT}; nb_vid=${id}`;
    for (let i = 0; i < 3; i++) await (await get("/edge/bags", cookie)).text();
    expect(heroOf(await (await get("/edge/", cookie)).text())?.[0]).not.toBe("hero-bags-travel");
  });
});

describe("proxy mode: the page outside the slots is the same whatever the consent", () => {
  /** The page with every slot emptied and the decision list removed: what consent must not change. */
  const outsideSlots = (page: string) =>
    new HTMLRewriter()
      .on("[data-nb-slot]", {
        element(el) {
          el.setInnerContent("");
          for (const a of ["data-nb-decision", "data-nb-block", "data-nb-reason", "data-nb-source"]) el.removeAttribute(a);
        },
      })
      .on("script#nb-decisions", { element: (el) => void el.remove() })
      .transform(new Response(page))
      .text();

  it.each(["/edge/", "/edge/bags", "/edge/product-trail-runner"])("%s: consenting and non-consenting visitors get identical bytes outside the slots", async (path) => {
    const id = visitor(false);
    const [consenting, refusing, none] = await Promise.all([
      proxied(path, { headers: { cookie: `${CONSENT}; nb_vid=${id}` } }),
      proxied(path, { headers: { cookie: "nb_consent=personalization%3D0%26analytics%3D0" } }),
      proxied(path),
    ]);
    const [a, b, c] = await Promise.all([consenting.text(), refusing.text(), none.text()]);
    expect(heroOf(a)?.[1]).toMatch(/ranked|holdout|default|fallback/); // the slots were filled...
    expect(heroOf(b)).toBeUndefined(); // ...only for the consenting visitor
    expect(a).toContain('href="/edge/'); // links are behind the prefix for everyone
    expect(b).toContain('href="/edge/');
    expect(b).not.toMatch(/<a [^>]*href="\/(?!edge\/)[^/]/);
    expect(await outsideSlots(a)).toBe(await outsideSlots(b));
    expect(c).toBe(b);
  });
});

describe("proxy mode: outside the slots, the origin's bytes", () => {
  /** The page with every slot emptied (its decision attributes removed) and the decision list removed. */
  const outsideSlots = (page: string) =>
    new HTMLRewriter()
      .on("[data-nb-slot]", {
        element(el) {
          el.setInnerContent("");
          for (const a of ["data-nb-decision", "data-nb-block", "data-nb-reason", "data-nb-source"]) el.removeAttribute(a);
        },
      })
      .on("script#nb-decisions", { element: (el) => void el.remove() })
      .transform(new Response(page))
      .text();

  it.each([
    { prefix: "", path: "/", originPath: "/" },
    { prefix: "", path: "/bags", originPath: "/bags" },
    { prefix: "/edge", path: "/edge/product-trail-runner", originPath: "/product-trail-runner" },
  ])("a personalised page ($path, PROXY_PREFIX=$prefix) differs from the origin's only in its slots and decision list (links behind the prefix)", async ({ prefix, path, originPath }) => {
    const [res, page] = await Promise.all([
      proxied(path, { headers: { cookie: `${CONSENT}; nb_vid=${visitor(false)}` } }, { vars: { PROXY_PREFIX: prefix } }),
      origin(originPath),
    ]);
    const text = await res.text();
    expect(heroOf(text)?.[1]).toMatch(/ranked|default|fallback/); // a slot was filled
    const unprefixed = prefix ? text.replace(/(<(?:a|area|form) [^>]*(?:href|action)=")\/edge\//g, "$1/") : text;
    expect(await outsideSlots(unprefixed)).toBe(await outsideSlots(await page.text()));
  });
});
