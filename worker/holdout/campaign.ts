import { z } from "zod";
import { unitHash } from "./hash.ts";

/**
 * Per-campaign holdouts: for each campaign, a share of visitors who never get that campaign's
 * blocks (they get the next best block of another campaign, or the default), so the campaign's
 * own lift is measurable next to the universal control group.
 */
export const campaignHoldoutConfigSchema = z.object({
  campaigns: z.record(
    z.string().min(1).max(64),
    z.object({
      /** Share of visitors held out of this campaign, 0..1. */
      rate: z.number().min(0).max(1),
      /** Each campaign has its own salt; changing it reshuffles who is held out. */
      salt: z.string().min(1).max(128),
    }),
  ),
});

export type CampaignHoldoutConfig = z.infer<typeof campaignHoldoutConfigSchema>;

/**
 * True when this visitor is held out of `campaign`. Pure and deterministic.
 *
 * The hash input carries a `campaign:` prefix and the campaign name besides the salt, so a
 * campaign's assignment is independent of the universal control group (whose input is just its
 * salt) and of every other campaign, even when someone reuses a salt string: being held out of
 * one says nothing about being held out of another. Hence the expected control share of a
 * campaign report is u + c − u·c (universal rate u, campaign rate c), see `controlShare`.
 */
export function campaignHoldout(visitorId: string, campaign: string, config: CampaignHoldoutConfig): boolean {
  const entry = config.campaigns[campaign];
  if (!entry || entry.rate <= 0) return false;
  return unitHash(`campaign:${campaign}:${entry.salt}`, visitorId) < entry.rate;
}

/**
 * Share of visitors in control for a campaign: held out universally or from the campaign, the two
 * being independent.
 */
export function controlShare(universalRate: number, campaignRate = 0): number {
  return universalRate + campaignRate - universalRate * campaignRate;
}

/** KV key of the campaign holdout configuration (JSON of `CampaignHoldoutConfig`). */
export const CAMPAIGN_HOLDOUTS_KEY = "holdouts:campaigns";

/** Reads the campaign holdouts from KV; none configured (or unreadable) means no campaign holdouts. */
export async function loadCampaignHoldouts(kv: KVNamespace): Promise<CampaignHoldoutConfig> {
  const raw = await kv.get(CAMPAIGN_HOLDOUTS_KEY, "json").catch(() => null);
  const parsed = campaignHoldoutConfigSchema.safeParse(raw);
  return parsed.success ? parsed.data : { campaigns: {} };
}
