/**
 * The decision pipeline: plain functions, no Hono and no binding types, so it is tested directly.
 *   consent → request-level guardrails → ranking (model within budget, else rules) → holdout →
 *   per-slot selection (caps, page rules, one block per page, exploration) in the visitor's
 *   Durable Object, atomically → decisions, plus a trace of everything for audit and debug.
 */
import { needsArbitration, rankWithArbitration } from "../arbitration/rank.ts";
import type { Catalog } from "../catalog/schema.ts";
import { AppError } from "../errors/app-error.ts";
import type { GuardrailConfig } from "../guardrails/config.ts";
import type { Exclusion } from "../guardrails/reasons.ts";
import { evaluateStaticRules, readsProfile, type RuleResult } from "../guardrails/rules.ts";
import { hasKeyedLists } from "../guardrails/suppression.ts";
import type { Profile } from "../identity/schema.ts";
import { visitorKey } from "../visitor/key.ts";
import { isHeldOut, type HoldoutConfig } from "../holdout/assign.ts";
import { campaignHoldout, type CampaignHoldoutConfig } from "../holdout/campaign.ts";
import type { ModelSelection } from "../ranking/active-model.ts";
import { readsTraits } from "../ranking/declared.ts";
import { assemble, decision, type CandidateDebug, type SlotTrace } from "./assemble.ts";
import { byRank, rankByModel, rankByRules, withinBudget, type ModelRun, type Ranked } from "./rank.ts";
import type { DecideRequest, Decision, DecisionReason } from "./schema.ts";
import { selectSlots, type RankedOption, type SelectionInput, type SlotPick, type VisitorHistory } from "./select.ts";
import { shadowChoices } from "./shadow.ts";
import { own } from "../guardrails/own.ts";
import type { MomentMembership } from "../moments/evaluate.ts";
import type { MomentsConfig } from "../moments/schema.ts";

export type { CandidateDebug, SlotTrace } from "./assemble.ts";

/** Runs the selection against the visitor's stored history (the Durable Object). */
export interface VisitorStateClient {
  select(input: SelectionInput, options: { now: number; sessionTimeoutMs: number }): Promise<SlotPick[]>;
  /** The same selection against the stored history, recording nothing (debug decides). */
  preview(input: SelectionInput, options: { now: number; sessionTimeoutMs: number }): Promise<SlotPick[]>;
  /** Counts a page view server-side (edge proxy mode) and returns the session signals. */
  pageView(category: string | undefined, options: { now: number; sessionTimeoutMs: number }): Promise<{ categoryViews: Record<string, number>; visitCount: number }>;
  /** The identified customer's traits (`profile`, `account`); empty for an anonymous visitor. */
  profile?(): Promise<Profile>;
  /** `select` plus the visitor's moments at decide time, in the same call (worker/moments/). */
  selectInMoments?(input: SelectionInput, options: { now: number; sessionTimeoutMs: number }, moments: DecideMoments): Promise<{ picks: SlotPick[]; moments: MomentMembership[] }>;
  /** `preview` plus the moments, storing nothing. */
  previewInMoments?(input: SelectionInput, options: { now: number; sessionTimeoutMs: number }, moments: DecideMoments): Promise<{ picks: SlotPick[]; moments: MomentMembership[] }>;
  /** The moments alone (visitors in the universal control group get no selection). */
  momentsAtDecide?(moments: DecideMoments, now: number, record: boolean): Promise<MomentMembership[]>;
}

/** What a decide gives the visitor's object to evaluate moments: the configuration and the signals. */
export interface DecideMoments {
  config: MomentsConfig;
  signals: Record<string, unknown>;
}

/** What `decide` needs from the outside world; tests pass deterministic versions. */
export interface DecideDeps {
  catalog: Catalog;
  guardrails: GuardrailConfig;
  /** The models for this visitor; rejecting makes the answer the rule-based fallback. */
  models: (visitorId: string) => Promise<ModelSelection>;
  /** The visitor's Durable Object; only called with personalisation consent. */
  visitorState: (visitorId: string) => VisitorStateClient;
  newId: () => string;
  now: () => number;
  holdout: HoldoutConfig;
  /** Probability of exploring per slot. */
  epsilon: number;
  /** ISO country of the request (`cf.country`). */
  country?: string;
  /** Per-campaign holdouts (their own salts, independent of the universal group). */
  campaignHoldouts?: CampaignHoldoutConfig;
  /**
   * The identified customer's traits (worker/identity/), asked only when a candidate's condition
   * reads `profile` or `account`: decides that do not need them pay no extra call.
   */
  profile?: (visitorId: string) => Promise<Profile>;
  /** False: decide against the visitor's history without recording exposures (debug). Default true. */
  record?: boolean;
  /**
   * The moments in force (worker/moments/); absent or empty: no moment work at all. Membership is
   * computed inside the visitor-state call the decide makes anyway (no extra round trip).
   */
  moments?: MomentsConfig;
}

export interface DecideResult {
  decisions: Decision[];
  traces: SlotTrace[];
  /** The serving model's features and scores (absent without consent or on fallback). */
  run?: ModelRun;
  arm?: ModelSelection["arm"];
  debug: Record<string, CandidateDebug[]>;
  /** Why the answer fell back to the rules (absent when it did not). */
  fallbackCause?: FallbackCause;
  /** The moments the visitor is in at this decision (absent when none are configured or known). */
  moments?: MomentMembership[];
}

function defaultBlock(catalog: Catalog, slot: string) {
  const id = catalog.slots[slot]!.defaultBlock;
  return catalog.blocks.find((b) => b.id === id)!;
}

/** Whether a model of the selection declares features read from the customer's traits. */
const modelsReadTraits = (s: ModelSelection) => [s.serving, ...s.shadows, ...(s.outcomes ?? []).map((o) => o.serving)].some((m) => readsTraits(m.manifest.declarations));

const noHistory = (now: number): VisitorHistory => ({ recent: [], sessionStart: now, lifetime: {}, converted: [] });

/** Against an empty history a pick's exposure count says nothing about the visitor. */
function withoutExposure({ exposure: _, ...pick }: SlotPick): SlotPick {
  return pick;
}

function options(catalog: Catalog, config: GuardrailConfig, slot: string, ranked: Map<string, Ranked>): RankedOption[] {
  const fallbackId = catalog.slots[slot]!.defaultBlock;
  return [...ranked.values()]
    .filter((r) => r.block.slots.includes(slot))
    .sort(byRank)
    .map(({ block, rank, score }) => ({
      blockId: block.id,
      campaign: block.campaign,
      tags: block.tags,
      caps: [...(block.rules?.caps ?? []), ...(own(config.frequencyCaps.perBlock, block.id) ?? [])],
      rank,
      ...(score !== undefined ? { score } : {}),
      personalized: block.id !== fallbackId,
    }));
}

function selectionInput(deps: DecideDeps, slots: SelectionInput["slots"], epsilon: number): SelectionInput {
  const { frequencyCaps, brand, exclusions } = deps.guardrails;
  return {
    slots,
    epsilon,
    globalCaps: frequencyCaps.global,
    campaignCaps: frequencyCaps.perCampaign,
    maxPromotionalPerPage: brand.maxPromotionalPerPage,
    promotionalTag: brand.promotionalTag,
    oneBlockPerCampaign: brand.oneBlockPerCampaign,
    excludeConverted: exclusions.excludeConvertedCampaigns,
  };
}

/**
 * The propensity of a Thompson-sampled pick among the options the selection allowed for its slot
 * (those it did not exclude), and whether it differs from the posterior-mean choice.
 */
function thompsonPick(thompson: NonNullable<ModelRun["thompson"]>, options: RankedOption[], p: SlotPick): Pick<SlotPick, "propensity" | "explored"> {
  const excluded = new Set(p.excluded.map((e) => e.blockId));
  const allowed = options.filter((o) => !excluded.has(o.blockId)).map((o) => o.blockId);
  return { propensity: thompson.propensity(allowed, p.pick!.blockId, p.decisionId), explored: thompson.greedy(allowed) !== p.pick!.blockId };
}

/** Decides every requested slot. Throws only for unknown slots; everything else degrades. */
export async function decide(request: DecideRequest, deps: DecideDeps): Promise<DecideResult> {
  const { catalog, guardrails: config } = deps;
  // Own properties only: a slot named "constructor" must not be found on the prototype chain.
  const unknown = request.slots.filter((s) => !Object.hasOwn(catalog.slots, s));
  if (unknown.length) throw new AppError("unknown_slot", `slots: unknown slot(s) ${unknown.join(", ")}`);
  const ids = request.slots.map(() => deps.newId());
  const now = deps.now();

  // No personalisation consent: default blocks, no model, no visitor state, nothing stored.
  if (!request.consent.personalization) {
    const decisions = request.slots.map((slot, i) => decision(slot, ids[i]!, defaultBlock(catalog, slot), "default"));
    return { decisions, traces: [], debug: {} };
  }

  // Request-level guardrails, before the model: the model only ranks what passes.
  const wanted = new Set(request.slots);
  const candidates = catalog.blocks.filter((b) => b.slots.some((s) => wanted.has(s)));
  const keyed = hasKeyedLists(config) ? await visitorKey(request.visitorId) : undefined;
  const askTraits = () => deps.profile!(request.visitorId).catch(() => undefined);
  const traitsAsked = !!deps.profile && candidates.some((b) => readsProfile(b.rules?.condition));
  let traits = traitsAsked ? await askTraits() : undefined;
  const ctx = { now, visitorId: request.visitorId, ...(keyed ? { visitorKey: keyed } : {}), emailHash: request.context.emailHash, consent: request.consent, signals: request.context.signals, url: request.context.url, country: deps.country, config, ...(traits && { profile: traits.profile, account: traits.account }) };
  const ruleResults = new Map<string, RuleResult[]>();
  const staticExclusions = new Map<string, Exclusion>();
  const allowed = candidates.filter((block) => {
    const { results, exclusion } = evaluateStaticRules(ctx, block);
    ruleResults.set(block.id, results);
    if (exclusion) staticExclusions.set(block.id, exclusion);
    return !exclusion;
  });

  let ranked: Map<string, Ranked>;
  let run: ModelRun | undefined;
  let selection: ModelSelection | undefined;
  let reason: DecisionReason = "ranked";
  let fallbackCause: FallbackCause | undefined;
  let stage: "loading" | "ranking" = "loading";
  try {
    selection = await withinBudget(() => deps.models(request.visitorId), config.coldStartBudgetMs, deps.now, "model loading");
    stage = "ranking";
    // A model declaring `profile.*` / `account.*` features (worker/ranking/declared.ts) needs the traits.
    if (!traitsAsked && deps.profile && modelsReadTraits(selection)) traits = await askTraits();
    const rank = needsArbitration(config.arbitration, selection)
      ? () => rankWithArbitration(selection!, config.arbitration, request.context.signals, allowed, now, traits)
      : () => rankByModel(selection!.serving, request.context.signals, allowed, now, ids[0], traits);
    ({ ranked, run } = await withinBudget(rank, config.latencyBudgetMs, deps.now, "ranking"));
  } catch (err) {
    // A valid request never fails: without a model the rules still give an answer.
    console.warn("ranking failed, serving the rule-based fallback:", err instanceof Error ? err.message : err);
    ranked = rankByRules(allowed, request.context.signals);
    run = undefined;
    reason = "fallback";
    fallbackCause = fallbackCauseOf(stage, err);
  }
  // Campaign holdouts: their blocks are ranked (to log what the model would have served) but
  // never served to the held-out visitor.
  const heldOutCampaigns = new Set(allowed.map((b) => b.campaign).filter((c) => deps.campaignHoldouts && campaignHoldout(request.visitorId, c, deps.campaignHoldouts)));
  const requestExclusions = new Map(staticExclusions);
  for (const b of allowed) if (heldOutCampaigns.has(b.campaign)) requestExclusions.set(b.id, { blockId: b.id, reason: "campaign_holdout", detail: b.campaign });
  const allOptions = request.slots.map((slot) => options(catalog, config, slot, ranked));
  const slotRequests = request.slots.map((slot, i) => ({ slot, decisionId: ids[i]!, options: allOptions[i]!.filter((o) => !heldOutCampaigns.has(o.campaign)) }));
  const shadows = selection && run ? await shadowChoices(selection.shadows, request.context.signals, allowed, slotRequests.map((s) => s.options), now, traits) : [];

  // What the model would serve with no control group (caps ignored: nothing is recorded).
  const modelChoices = () => selectSlots(selectionInput(deps, slotRequests.map((s, i) => ({ ...s, options: allOptions[i]! })), 0), noHistory(now), now).map(withoutExposure);
  let picks: SlotPick[];
  let counterfactuals: Array<RankedOption | undefined> | undefined;
  const holdout = isHeldOut(request.visitorId, deps.holdout);
  const momentsCall: DecideMoments | undefined = deps.moments?.moments.length ? { config: deps.moments, signals: request.context.signals as Record<string, unknown> } : undefined;
  let moments: MomentMembership[] | undefined;
  if (holdout) {
    // The universal control group sees the defaults; the model's choice is logged.
    picks = modelChoices();
    // Its moments still count (the lift by moment compares it with treatment).
    const state = momentsCall ? deps.visitorState(request.visitorId) : undefined;
    if (momentsCall && state?.momentsAtDecide) {
      moments = await state.momentsAtDecide(momentsCall, now, deps.record !== false).catch((err) => {
        console.warn("moments unavailable:", err instanceof Error ? err.message : err);
        return undefined;
      });
    }
  } else {
    // A Thompson-sampling model explores through its draw: no ε on top.
    const input = selectionInput(deps, slotRequests, reason === "ranked" && !run?.thompson ? deps.epsilon : 0);
    try {
      const state = deps.visitorState(request.visitorId);
      const selectOptions = { now, sessionTimeoutMs: config.sessionTimeoutMinutes * 60_000 };
      const inMoments = momentsCall && (deps.record === false ? state.previewInMoments : state.selectInMoments);
      if (inMoments && momentsCall) {
        const answer = await inMoments.call(state, input, selectOptions, momentsCall);
        picks = answer.picks;
        moments = answer.moments;
      } else {
        picks = await (deps.record === false ? state.preview(input, selectOptions) : state.select(input, selectOptions));
      }
    } catch (err) {
      // Without the visitor's history caps cannot be checked: capped blocks are left out.
      console.warn("visitor state unavailable, serving the fallback:", err instanceof Error ? err.message : err);
      reason = "fallback";
      fallbackCause ??= "visitor_state";
      const uncapped = slotRequests.map((s) => ({ ...s, options: s.options.filter((o) => o.caps.length === 0 && !own(input.campaignCaps, o.campaign)?.length && !(o.personalized && input.globalCaps.length)) }));
      picks = selectSlots({ ...input, slots: uncapped, epsilon: 0 }, noHistory(now), now).map(withoutExposure);
      picks.forEach((p, i) => {
        const kept = new Set(uncapped[i]!.options.map((o) => o.blockId));
        for (const o of slotRequests[i]!.options) if (!kept.has(o.blockId)) p.excluded.push({ blockId: o.blockId, reason: "cap_state_unavailable" });
      });
    }
    if (heldOutCampaigns.size) counterfactuals = modelChoices().map((p) => p.pick);
    const thompson = run?.thompson;
    if (thompson && reason === "ranked") picks = picks.map((p, i) => (p.pick ? { ...p, ...thompsonPick(thompson, slotRequests[i]!.options, p) } : p));
  }

  const { decisions, traces, debug } = assemble({
    catalog,
    candidates,
    ruleResults,
    requestExclusions,
    ranked,
    options: holdout ? allOptions : slotRequests.map((s) => s.options),
    picks,
    ...(counterfactuals ? { counterfactuals } : {}),
    universalHoldout: holdout,
    heldOutCampaigns,
    reason,
    modelVersion: reason === "ranked" ? run!.version : null,
    shadows,
  });
  return { decisions, traces, ...(run ? { run } : {}), ...(selection ? { arm: selection.arm } : {}), ...(fallbackCause ? { fallbackCause } : {}), debug, ...(moments ? { moments } : {}) };
}

/**
 * Why a decide fell back to the rules (audit `fallbackCause`, read by the operational checks of
 * worker/incidents/): the model could not be loaded (`model_load`) or not within the cold-start
 * budget (`cold_start_budget`), ranking missed the latency budget (`latency_budget`) or failed
 * (`ranking_error`), or the visitor's state was unavailable (`visitor_state`).
 */
export type FallbackCause = "model_load" | "cold_start_budget" | "latency_budget" | "ranking_error" | "visitor_state";

function fallbackCauseOf(stage: "loading" | "ranking", err: unknown): FallbackCause {
  const overBudget = err instanceof Error && err.message.includes("budget");
  if (stage === "loading") return overBudget ? "cold_start_budget" : "model_load";
  return overBudget ? "latency_budget" : "ranking_error";
}
