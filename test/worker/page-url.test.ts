/**
 * Issue 12 item 6: page URLs lose their fragment and every query parameter but utm_* and the
 * configured ones (PAGE_URL_PARAMS) on the Worker, for every caller, before anything is recorded.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createApp } from "../../worker/app.ts";
import { memoryAuditSink } from "../../worker/audit/record.ts";
import { pageUrl, paramList } from "../../worker/decide/page-url.ts";
import { CONSENT } from "./proxy-helpers.ts";
import { TREATED } from "./helpers.ts";

const SECRET = "?email=alice%40example.com&utm_source=news&page=2&utm_campaign=spring#access_token=abc";

describe("pageUrl", () => {
  it.each([
    ["https://s.example/shoes.html" + SECRET, [], "https://s.example/shoes.html?utm_source=news&utm_campaign=spring"],
    ["https://s.example/shoes.html" + SECRET, ["page"], "https://s.example/shoes.html?utm_source=news&page=2&utm_campaign=spring"],
    ["https://s.example/a?email=x#frag", [], "https://s.example/a"],
    ["https://s.example/a#?utm_source=hidden", [], "https://s.example/a"],
    ["https://s.example/a?UTM_x=1&utm_=2", [], "https://s.example/a?utm_=2"],
    ["https://user:pa55@s.example/a?x=1", [], "https://s.example/a"],
    ["not a url", [], ""],
  ])("%s keeping %j → %s", (href, keep, want) => {
    expect(pageUrl(href, keep)).toBe(want);
  });

  it("reads the configured names", () => {
    expect(paramList(" page, sort ,,")).toEqual(["page", "sort"]);
    expect(paramList("")).toEqual([]);
  });
});

const audit = memoryAuditSink();
const app = createApp(() => ({ audit }));
async function send(path: string, init: RequestInit, vars: Record<string, string> = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await app.fetch(new Request(`http://nextbest.test${path}`, init), { ...env, PROXY_BUDGET_MS: "30000", ...vars } as Env, ctx);
  await res.arrayBuffer();
  await waitOnExecutionContext(ctx);
  return res;
}
const pagesRecorded = () => audit.records.map((r) => r.page);

describe("the Worker strips page URLs before anything is recorded", () => {
  it("POST /v1/decide (script tag and other channels)", async () => {
    audit.records.length = 0;
    const body = { visitorId: TREATED[0], slots: ["hero"], consent: { personalization: true }, context: { url: "https://shop.example/shoes.html" + SECRET } };
    expect((await send("/v1/decide", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) })).status).toBe(200);
    expect(pagesRecorded()).toEqual(["https://shop.example/shoes.html?utm_source=news&utm_campaign=spring"]);
  });

  it("keeps the parameters PAGE_URL_PARAMS names", async () => {
    audit.records.length = 0;
    const body = { visitorId: TREATED[1], slots: ["hero"], consent: { personalization: true }, context: { url: "https://shop.example/shoes.html" + SECRET } };
    await send("/v1/decide", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }, { PAGE_URL_PARAMS: "page" });
    expect(pagesRecorded()).toEqual(["https://shop.example/shoes.html?utm_source=news&page=2&utm_campaign=spring"]);
  });

  it("proxy mode (the page's own URL)", async () => {
    audit.records.length = 0;
    const res = await send(`/edge/shoes${SECRET.split("#")[0]}`, { headers: { accept: "text/html", cookie: `${CONSENT}; nb_vid=${TREATED[2]}` } });
    expect(res.status).toBe(200);
    expect(pagesRecorded().length).toBeGreaterThan(0);
    for (const page of pagesRecorded()) {
      expect(page).not.toContain("email");
      expect(page).toContain("utm_source=news");
    }
  });
});
