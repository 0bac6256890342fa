import { describe, expect, it } from "vitest";
import { requestSignals } from "../../worker/proxy/request-context.ts";

const signals = (headers: Record<string, string>, url = "https://shop.example/shoes.html") => requestSignals(new Request(url, { headers }), new URL(url));

describe("requestSignals (what the edge reads from the request itself)", () => {
  it.each([
    { name: "no referer", headers: {} as Record<string, string>, referrer: undefined },
    { name: "an empty referer", headers: { referer: "" }, referrer: undefined },
    { name: "an unparsable referer", headers: { referer: "not a url" }, referrer: undefined },
    { name: "the site itself", headers: { referer: "https://shop.example/bags.html" }, referrer: undefined },
    { name: "another site (host only)", headers: { referer: "https://www.google.com/search?q=trail+shoes" }, referrer: "www.google.com" },
  ])("$name → referrer $referrer", ({ headers, referrer }) => {
    expect(signals(headers).referrer).toBe(referrer);
  });

  it("reads UTM fields and the device", () => {
    const s = signals({ "user-agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148" }, "https://shop.example/?utm_source=news&utm_campaign=spring&x=1");
    expect(s).toEqual({ device: "mobile", utm: { source: "news", campaign: "spring" } });
    expect(signals({})).toEqual({ device: "desktop" });
  });
});
