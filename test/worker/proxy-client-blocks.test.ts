// Blocks nb.js fills on a page the proxy serves (after consent is given in the page's banner, or
// in slots added later) link where the blocks the edge fills do: behind the prefix. The decide
// route maps them when the decide's page (`context.url`) is one the proxy maps (page-links.ts).
// The Worker's configuration here: PROXY_ORIGIN=assets, PROXY_PREFIX=/edge, pass-through *.css.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { isHeldOut } from "../../worker/holdout/assign.ts";
import type { DecideResponse } from "../../worker/decide/schema.ts";
import { call, postDecide } from "./helpers.ts";

const holdout = { rate: Number(env.HOLDOUT_RATE), salt: env.HOLDOUT_SALT };
let n = 0;
/** A visitor outside the holdout: the shoes hero (a link to `/shoes.html`) is served. */
function treated(): string {
  for (;;) {
    const id = `client-blocks-${n++}`;
    if (!isHeldOut(id, holdout)) return id;
  }
}

/** The `href`s of the blocks a decide for the page at `url` serves. */
async function blockLinks(url: string | undefined): Promise<string[]> {
  const res = await postDecide({
    visitorId: treated(),
    slots: ["hero", "sidebar"],
    consent: { personalization: true, analytics: false },
    context: { ...(url === undefined ? {} : { url }), signals: { pageCategory: "shoes", categoryViews: { shoes: 6 } } },
  });
  expect(res.status).toBe(200);
  const { decisions } = (await res.json()) as DecideResponse;
  return decisions.flatMap((d) => [...d.block.html.matchAll(/href="([^"]*)"/g)].map((m) => m[1]!));
}

describe("links of the blocks a decide serves", () => {
  it.each([
    { page: "http://nextbest.test/edge/shoes", mapped: true, why: "a page the proxy serves and maps" },
    { page: "http://nextbest.test/edge/", mapped: true, why: "the proxied home page" },
    { page: "http://nextbest.test/%65dge/shoes?x=1#y", mapped: true, why: "the prefix percent-encoded, a query and a fragment" },
    { page: "http://nextbest.test/shoes", mapped: false, why: "the page outside the prefix (client mode on the origin's own page)" },
    { page: "http://nextbest.test/edgeways/shoes", mapped: false, why: "a path that only starts like the prefix" },
    { page: "http://nextbest.test/edge/style.css", mapped: false, why: "a pass-through path (PROXY_PASS_THROUGH)" },
    { page: "https://shop.example/edge/shoes", mapped: false, why: "another site's page" },
    { page: "not a url", mapped: false, why: "a context.url that is no URL" },
    { page: undefined, mapped: false, why: "no context.url" },
  ])("$why: mapped $mapped", async ({ page, mapped }) => {
    const links = await blockLinks(page);
    expect(links.length).toBeGreaterThan(0);
    for (const link of links) expect(link.startsWith("/edge/")).toBe(mapped);
  });
});

describe("links of the blocks a preview shows (what decide would answer)", () => {
  const ADMIN = { authorization: "Bearer test-admin-token", "content-type": "application/json" };
  const body = (url: string) => ({
    visitorId: treated(),
    slots: ["hero", "sidebar"],
    consent: { personalization: true, analytics: false },
    context: { url, signals: { pageCategory: "shoes", categoryViews: { shoes: 6 } } },
  });
  const hrefs = (html: string) => [...html.matchAll(/href="([^"]*)"/g)].map((m) => m[1]!);
  const linksOf = async (res: Response) => {
    expect(res.status).toBe(200);
    const { decisions, slots } = (await res.json()) as DecideResponse & { slots: { decision: DecideResponse["decisions"][number] }[] };
    const links = decisions.flatMap((d) => hrefs(d.block.html));
    // Each slot's own decision carries the same HTML as `decisions`.
    expect(slots.flatMap((s) => hrefs(s.decision.block.html))).toEqual(links);
    return links;
  };

  it.each([
    { page: "http://nextbest.test/edge/shoes", mapped: true },
    { page: "http://nextbest.test/shoes", mapped: false },
  ])("admin preview of $page: mapped $mapped", async ({ page, mapped }) => {
    const links = await linksOf(await call("/admin/preview", { method: "POST", headers: ADMIN, body: JSON.stringify(body(page)) }));
    expect(links.length).toBeGreaterThan(0);
    for (const link of links) expect(link.startsWith("/edge/")).toBe(mapped);
  });

  // A link signs its request (and maybe a page URL); nb-extras sends the URL of the page it opened on.
  it.each([
    { why: "the link's page and the page opened agree", linkUrl: "http://nextbest.test/edge/shoes", opened: "http://nextbest.test/edge/shoes", mapped: true },
    { why: "the link names no page", linkUrl: undefined, opened: "http://nextbest.test/edge/shoes", mapped: true },
    { why: "the link's page is the origin's own, opened behind the proxy", linkUrl: "https://shop.example/shoes", opened: "http://nextbest.test/edge/shoes", mapped: true },
    { why: "the link's page is behind the proxy, opened outside it", linkUrl: "http://nextbest.test/edge/shoes", opened: "http://nextbest.test/shoes", mapped: false },
  ])("a preview link: $why (mapped $mapped)", async ({ linkUrl, opened, mapped }) => {
    const { context, ...req } = body(linkUrl ?? "");
    const signed = { ...req, context: linkUrl === undefined ? { signals: context.signals } : context, page: new URL(opened).pathname };
    const link = await call("/admin/preview/links", { method: "POST", headers: ADMIN, body: JSON.stringify(signed) });
    expect(link.status).toBe(201);
    const { token } = (await link.json()) as { token: string };
    const res = await call("/v1/preview", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ token, url: opened }) });
    const links = await linksOf(res);
    expect(links.length).toBeGreaterThan(0);
    for (const l of links) expect(l.startsWith("/edge/")).toBe(mapped);
  });
});
