/**
 * Per-slot selection: the guardrails that depend on the visitor's history or on the other slots
 * of the page (frequency caps, already-converted campaigns, promo and campaign limits per page, one
 * block per page), then exploration. Pure and synchronous, so the visitor's Durable Object can run
 * it atomically with reading and recording exposures: concurrent requests cannot both take the
 * last unit of a cap.
 */
import { unitHash } from "../holdout/hash.ts";
import { addExposure, capReached, lifetimeKey, type Cap, type CapScope, type CapState } from "../guardrails/caps.ts";
import type { Exclusion, ReasonCode } from "../guardrails/reasons.ts";
import { own } from "../guardrails/own.ts";

/** An allowed block for a slot, with what arbitration ranked it by. */
export interface RankedOption {
  blockId: string;
  campaign: string;
  tags: string[];
  /** Caps of this block (its catalog rules and the configuration's per-block caps). */
  caps: Cap[];
  rank: number;
  score?: number;
  /** False for the slot's default block: not counted toward the global cap. */
  personalized: boolean;
}

export interface SlotRequest {
  slot: string;
  decisionId: string;
  /** Best first. */
  options: RankedOption[];
}

export interface SelectionInput {
  slots: SlotRequest[];
  /** Probability of exploring per slot; 0 serves the best allowed block. */
  epsilon: number;
  globalCaps: Cap[];
  campaignCaps: Record<string, Cap[]>;
  maxPromotionalPerPage: number;
  promotionalTag: string;
  oneBlockPerCampaign: boolean;
  excludeConverted: boolean;
}

/** The visitor's history as the selection sees it. */
export interface VisitorHistory extends CapState {
  /** Campaigns the visitor converted on. */
  converted: string[];
}

export interface SlotPick {
  slot: string;
  decisionId: string;
  /** Undefined when every option was excluded: the slot gets its default block. */
  pick?: RankedOption;
  propensity: number;
  explored: boolean;
  excluded: Exclusion[];
  /**
   * How many times the visitor has now been served the picked block (this time included, lifetime
   * count of the history): 1 for a first view. The content report's fatigue analysis counts clicks
   * by it. Only meaningful against the visitor's real history (decide drops it otherwise).
   */
  exposure?: number;
}

/**
 * Epsilon-greedy over the ranked options, seeded by the decision id (never Math.random), with the
 * exact probability of the returned choice.
 */
export function choose<T>(options: T[], decisionId: string, epsilon: number): { pick: T; propensity: number; explored: boolean } {
  const k = options.length;
  const best = options[0]!;
  if (k === 1 || epsilon <= 0) return { pick: best, propensity: 1, explored: false };
  const explore = unitHash("explore", decisionId) < epsilon;
  const pick = explore ? options[Math.floor(unitHash("explore-pick", decisionId) * k)]! : best;
  return { pick, propensity: epsilon / k + (pick === best ? 1 - epsilon : 0), explored: explore && pick !== best };
}

function capExclusion(history: CapState, option: RankedOption, input: SelectionInput, now: number, account: CapState | undefined): Exclusion | undefined {
  const checks: Array<[CapScope, Cap[], ReasonCode]> = [
    [{ kind: "block", blockId: option.blockId }, option.caps, "cap_block"],
    [{ kind: "campaign", campaign: option.campaign }, own(input.campaignCaps, option.campaign) ?? [], "cap_campaign"],
    [{ kind: "global" }, option.personalized ? input.globalCaps : [], "cap_global"],
  ];
  for (const [scope, caps, reason] of checks) {
    for (const cap of caps) {
      // An account cap counts the account's exposures; a visitor with no account is an account of one.
      if (cap.scope === "account") {
        if (capReached(account ?? history, scope, cap, now)) return { blockId: option.blockId, reason: "cap_account", detail: `${lifetimeKey(scope)}: ${cap.limit} per ${cap.window}` };
      } else if (capReached(history, scope, cap, now)) return { blockId: option.blockId, reason };
    }
  }
  return undefined;
}

/**
 * Selects a block per slot, in request order, and adds the served ones to `history` (the caller
 * persists the new exposures). Later slots see the earlier slots' choices. `account`: the
 * exposures of the visitor's account, for caps with `scope: "account"` (served blocks are added
 * to it too, without their decision id); absent, such caps count the visitor's own history.
 */
export function selectSlots(input: SelectionInput, history: VisitorHistory, now: number, account?: CapState): SlotPick[] {
  const used = new Set<string>();
  const campaigns = new Set<string>();
  let promos = 0;
  return input.slots.map(({ slot, decisionId, options }) => {
    const allowed: RankedOption[] = [];
    const excluded: Exclusion[] = [];
    for (const option of options) {
      let reason: ReasonCode | undefined;
      if (used.has(option.blockId)) reason = "used_on_page";
      else if (input.excludeConverted && history.converted.includes(option.campaign)) reason = "converted";
      else if (input.oneBlockPerCampaign && option.personalized && campaigns.has(option.campaign)) reason = "campaign_repeat";
      else if (option.tags.includes(input.promotionalTag) && promos >= input.maxPromotionalPerPage) reason = "promo_limit";
      const capped = reason ? undefined : capExclusion(history, option, input, now, account);
      if (reason) excluded.push({ blockId: option.blockId, reason });
      else if (capped) excluded.push(capped);
      else allowed.push(option);
    }
    if (allowed.length === 0) return { slot, decisionId, propensity: 1, explored: false, excluded };
    const { pick, propensity, explored } = choose(allowed, decisionId, input.epsilon);
    used.add(pick.blockId);
    if (pick.personalized) campaigns.add(pick.campaign);
    if (pick.tags.includes(input.promotionalTag)) promos++;
    addExposure(history, { at: now, blockId: pick.blockId, campaign: pick.campaign, personalized: pick.personalized, decisionId });
    if (account) addExposure(account, { at: now, blockId: pick.blockId, campaign: pick.campaign, personalized: pick.personalized });
    const exposure = history.lifetime[lifetimeKey({ kind: "block", blockId: pick.blockId })];
    return { slot, decisionId, pick, propensity, explored, excluded, ...(exposure ? { exposure } : {}) };
  });
}
