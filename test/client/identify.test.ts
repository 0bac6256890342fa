import { beforeEach, describe, expect, it } from "vitest";
import { createNextbest } from "../../client/index.ts";
import { ALL_EXTRAS } from "../../client/optional.ts";
import { decidingFetch, freshStore, setPage, SLOTS_HTML } from "./helpers.ts";

beforeEach(() => {
  document.cookie = "nb_consent=; Path=/; Max-Age=0";
  document.cookie = "nb_vid=; Path=/; Max-Age=0";
  setPage({ path: "/", body: SLOTS_HTML });
});

function page() {
  const fetch = decidingFetch(() => Response.json({ linked: true, customerKey: "k", merged: true }));
  let n = 0;
  const client = createNextbest({ endpoint: "https://edge.example", fetchImpl: fetch.fetchImpl, store: freshStore(), newId: () => `id-${++n}-abcdef`, extras: async () => ALL_EXTRAS });
  return { client, fetch };
}

/** nextbest.identify, once the optional parts have loaded. */
async function identifyOf(client: ReturnType<typeof createNextbest>) {
  await client.start();
  await expect.poll(() => typeof client.identify).toBe("function");
  return client.identify!;
}

describe("nextbest.identify", () => {
  it("sends the signed token for the page's visitor with personalization consent", async () => {
    const { client, fetch } = page();
    const identify = await identifyOf(client);
    await client.consent({ personalization: true, analytics: false });
    const visitorId = fetch.calls.at(-1)!.body.visitorId;
    expect(await identify("cust-1", { token: "signed.jwt.token" })).toEqual({ linked: true, customerKey: "k", merged: true });
    const post = fetch.posts.find((p) => p.url === "https://edge.example/v1/identify")!;
    expect(post.body).toEqual({ visitorId, consent: { personalization: true }, customerId: "cust-1", token: "signed.jwt.token" });
  });

  it("sends nothing without personalization consent", async () => {
    const { client, fetch } = page();
    const identify = await identifyOf(client);
    expect(await identify("cust-1", { token: "t" })).toEqual({ linked: false, reason: "no_consent" });
    expect(fetch.posts.filter((p) => p.url.endsWith("/v1/identify"))).toEqual([]);
  });
});
