import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { isHeldOut } from "../../worker/holdout/assign.ts";
import { readManifest } from "../../worker/ranking/manifest.ts";
import defaultModel from "../../models/default.onnx";
import { decideOk, postDecide } from "./helpers.ts";

const holdout = { rate: Number(env.HOLDOUT_RATE), salt: env.HOLDOUT_SALT };
const treated = (prefix: string) => {
  for (let i = 0; ; i++) if (!isHeldOut(`${prefix}-${i}`, holdout)) return `${prefix}-${i}`;
};
const heldOut = (prefix: string) => {
  for (let i = 0; ; i++) if (isHeldOut(`${prefix}-${i}`, holdout)) return `${prefix}-${i}`;
};

const shoesShopper = {
  consent: { personalization: true, analytics: true },
  slots: ["hero", "sidebar"],
  context: {
    url: "https://shop.example/shoes.html",
    signals: { pageType: "category", pageCategory: "shoes", categoryViews: { shoes: 4 }, visitCount: 3 },
  },
};

describe("POST /v1/decide", () => {
  it("answers the spec's fields for every slot, ranked by the ONNX model", async () => {
    const { decisions } = await decideOk({ visitorId: treated("fields"), ...shoesShopper });
    expect(decisions.map((d) => d.slot)).toEqual(["hero", "sidebar"]);
    for (const d of decisions) {
      expect(d).toMatchObject({ holdout: false, reason: "ranked" });
      expect(d.decisionId).toMatch(/^[0-9a-f-]{36}$/);
      expect(d.block.id).toBeTypeOf("string");
      expect(d.block.html).toContain("nb-block");
      expect(d.propensity).toBeGreaterThan(0);
      expect(d.propensity).toBeLessThanOrEqual(1);
      expect(d.modelVersion).toMatch(/^nextbest-default@[0-9a-f]{12}$/);
    }
    expect(new Set(decisions.map((d) => d.block.id)).size).toBe(2);
  });

  it("follows the model: the browsed category's block wins the hero, and changes with the context", async () => {
    // Why, from the manifest: the default model's features include page_category_match and
    // category_affinity, both learnt with large positive weights (models/README.md). For a
    // visitor on the shoes page who viewed 4 shoes pages, only hero-shoes-trail has both at 1;
    // every other hero block has both at 0, so its probability is several times higher and it
    // wins arbitration (probability × value) even against the higher-value jackets block.
    const manifest = readManifest(new Uint8Array(defaultModel));
    expect(manifest.features).toEqual(expect.arrayContaining(["page_category_match", "category_affinity"]));

    const visitor = treated("order");
    const shoes = await decideOk({ visitorId: visitor, ...shoesShopper, slots: ["hero"] });
    const bags = await decideOk({
      visitorId: visitor,
      ...shoesShopper,
      slots: ["hero"],
      context: { signals: { pageType: "category", pageCategory: "bags", categoryViews: { bags: 4 }, visitCount: 3 } },
    });
    expect(shoes.decisions[0]!.block.id).toBe("hero-shoes-trail");
    expect(bags.decisions[0]!.block.id).toBe("hero-bags-travel");
    // With exploration off (vitest.config.ts) the best block is served with certainty.
    expect(shoes.decisions[0]!.propensity).toBe(1);
    expect(shoes.decisions[0]!.score).toBeGreaterThan(0);
  });

  it("never serves one block in two slots of a request", async () => {
    // hero-welcome-offer may serve both slots; a newcomer makes it the top choice for both.
    const { decisions } = await decideOk({
      visitorId: treated("unique"),
      consent: { personalization: true },
      slots: ["sidebar", "hero"],
      context: { signals: { visitCount: 1, pageType: "home" } },
    });
    expect(new Set(decisions.map((d) => d.block.id)).size).toBe(2);
  });

  it("serves the default blocks without personalisation consent", async () => {
    const { decisions } = await decideOk({ visitorId: treated("noconsent"), ...shoesShopper, consent: { personalization: false } });
    expect(decisions.map((d) => [d.block.id, d.reason, d.modelVersion])).toEqual([
      ["hero-default", "default", null],
      ["sidebar-default", "default", null],
    ]);
  });

  it("serves the default blocks to the universal control group", async () => {
    const { decisions } = await decideOk({ visitorId: heldOut("ucg"), ...shoesShopper });
    expect(decisions.map((d) => [d.block.id, d.reason, d.holdout])).toEqual([
      ["hero-default", "holdout", true],
      ["sidebar-default", "holdout", true],
    ]);
  });

  it("answers CORS preflights so any site can call it", async () => {
    const res = await postDecide({ visitorId: "v", slots: ["hero"] }, { origin: "https://shop.example" });
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
  });
});
