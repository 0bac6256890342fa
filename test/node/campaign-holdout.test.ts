import { describe, expect, it } from "vitest";
import { isHeldOut } from "../../worker/holdout/assign.ts";
import { campaignHoldout, campaignHoldoutConfigSchema, controlShare, type CampaignHoldoutConfig } from "../../worker/holdout/campaign.ts";

const universal = { rate: 0.05, salt: "nextbest-ucg-v1" };
// Two campaigns deliberately sharing a salt string, and one sharing the universal salt.
const config: CampaignHoldoutConfig = {
  campaigns: {
    "spring-shoes": { rate: 0.1, salt: "same" },
    "travel-bags": { rate: 0.2, salt: "same" },
    "rain-ready": { rate: 0.5, salt: "nextbest-ucg-v1" },
  },
};
const ids = Array.from({ length: 40_000 }, (_, i) => `visitor-${i}`);
const share = (f: (id: string) => boolean, of = ids) => of.filter(f).length / of.length;

describe("campaignHoldout", () => {
  it("is deterministic and holds out nobody for unknown campaigns or rate 0", () => {
    for (const id of ids.slice(0, 500)) expect(campaignHoldout(id, "spring-shoes", config)).toBe(campaignHoldout(id, "spring-shoes", config));
    expect(ids.some((id) => campaignHoldout(id, "unknown", config))).toBe(false);
    expect(campaignHoldout("v", "x", { campaigns: { x: { rate: 0, salt: "s" } } })).toBe(false);
  });

  it.each([
    { campaign: "spring-shoes", rate: 0.1 },
    { campaign: "travel-bags", rate: 0.2 },
    { campaign: "rain-ready", rate: 0.5 },
  ])("holds out $rate of visitors from $campaign (±1 point)", ({ campaign, rate }) => {
    expect(Math.abs(share((id) => campaignHoldout(id, campaign, config)) - rate)).toBeLessThan(0.01);
  });

  it("is independent of the universal control group, even with the same salt string", () => {
    const held = ids.filter((id) => isHeldOut(id, universal));
    for (const [campaign, { rate }] of Object.entries(config.campaigns)) {
      // Among universally held-out visitors, the campaign holdout keeps its own rate.
      expect(Math.abs(share((id) => campaignHoldout(id, campaign, config), held) - rate)).toBeLessThan(0.03);
    }
    // Overall control share of a campaign report: u + c − u·c.
    const inControl = share((id) => isHeldOut(id, universal) || campaignHoldout(id, "spring-shoes", config));
    expect(Math.abs(inControl - controlShare(0.05, 0.1))).toBeLessThan(0.005);
  });

  it("is independent between campaigns sharing a salt string", () => {
    const both = share((id) => campaignHoldout(id, "spring-shoes", config) && campaignHoldout(id, "travel-bags", config));
    expect(Math.abs(both - 0.1 * 0.2)).toBeLessThan(0.004);
  });

  it("reshuffles when the salt changes", () => {
    const other = { campaigns: { "spring-shoes": { rate: 0.1, salt: "other" } } };
    const overlap = share((id) => campaignHoldout(id, "spring-shoes", config) && campaignHoldout(id, "spring-shoes", other));
    expect(Math.abs(overlap - 0.01)).toBeLessThan(0.003);
  });

  it.each([
    { name: "rate above 1", raw: { campaigns: { a: { rate: 1.5, salt: "s" } } }, ok: false },
    { name: "empty salt", raw: { campaigns: { a: { rate: 0.1, salt: "" } } }, ok: false },
    { name: "no campaigns", raw: { campaigns: {} }, ok: true },
  ])("config: $name → valid $ok", ({ raw, ok }) => {
    expect(campaignHoldoutConfigSchema.safeParse(raw).success).toBe(ok);
  });
});
