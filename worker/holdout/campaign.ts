import { z } from "zod";
import { lastGood } from "../config-health/last-good.ts";
import { formatZodError } from "../errors/app-error.ts";
import { unitHash } from "./hash.ts";
import { own } from "../guardrails/own.ts";

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
  const entry = own(config.campaigns, campaign);
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

const NO_CAMPAIGN_HOLDOUTS: CampaignHoldoutConfig = { campaigns: {} };

/** This isolate's campaign holdouts: an invalid stored value leaves the last valid one in force. */
const holdoutsCache = lastGood<CampaignHoldoutConfig>({
  source: "campaignHoldouts",
  validate(raw) {
    const parsed = campaignHoldoutConfigSchema.safeParse(raw);
    return parsed.success ? { ok: true, value: parsed.data } : { ok: false, message: formatZodError(parsed.error, CAMPAIGN_HOLDOUTS_KEY) };
  },
  builtIn: () => NO_CAMPAIGN_HOLDOUTS,
  version: () => null,
  ttlMs: 10_000,
});

const read = (kv: KVNamespace) => () => kv.get(CAMPAIGN_HOLDOUTS_KEY, "json");

/**
 * The campaign holdouts the decide path uses: from KV, cached per isolate for 10 s like the rest
 * of the configuration. None stored means no campaign holdouts; a stored value that does not
 * validate (or cannot be read) keeps the last valid one (else none) in force and is reported by
 * `GET /admin/config/health`. Never rejects.
 */
export function cachedCampaignHoldouts(kv: KVNamespace, now: number = Date.now(), keepAlive?: (work: Promise<unknown>) => void): Promise<CampaignHoldoutConfig> {
  return holdoutsCache.get(read(kv), now, keepAlive);
}

/** The same, read from KV now (reports must show the configuration as stored). Never rejects. */
export function loadCampaignHoldouts(kv: KVNamespace, now: number = Date.now()): Promise<CampaignHoldoutConfig> {
  return holdoutsCache.refresh(read(kv), now);
}
