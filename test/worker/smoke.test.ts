import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

describe("smoke", () => {
  it("decides", async () => {
    const res = await exports.default.fetch("http://x/v1/decide", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ visitorId: "v-2", slots: ["hero", "sidebar"], consent: { personalization: true }, context: { signals: { pageCategory: "shoes", categoryViews: { shoes: 3 } } } }),
    });
    const body = await res.json();
    console.log(JSON.stringify(body, null, 1));
    expect(res.status).toBe(200);
  });
});
