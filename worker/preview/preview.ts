/**
 * Preview: what `POST /v1/decide` would answer for a described visitor, and why — with the SAME
 * decision function (`decide`, worker/decide/decide.ts) and the same catalog, guardrails, models
 * and holdouts, but read-only deps: the visitor state is the described history in memory
 * (./history.ts), and nothing is handed to the audit log, the queue or the visitor's Durable
 * Object. Caps are therefore never consumed.
 */
import type { Block, Catalog } from "../catalog/schema.ts";
import { withBudgets } from "../decide/budgets.ts";
import { decide, type CandidateDebug } from "../decide/decide.ts";
import type { DecideRequest, Decision } from "../decide/schema.ts";
import { REASONS, type Exclusion } from "../guardrails/reasons.ts";
import type { RuleResult } from "../guardrails/rules.ts";
import { campaignHoldout } from "../holdout/campaign.ts";
import { isHeldOut } from "../holdout/assign.ts";
import type { Services } from "../services.ts";
import { describedVisitorState, historyFrom } from "./history.ts";
import type { PreviewRequest } from "./schema.ts";

/** Block statuses that serve (the catalog's approval workflow); a block without one serves. */
export const SERVING_STATUSES: readonly string[] = ["live", "approved"];

/** A block's approval status, when the catalog carries one. */
export function blockStatus(block: Block): string | undefined {
  const status = (block as { status?: unknown }).status;
  return typeof status === "string" ? status : undefined;
}

/**
 * The catalog a preview decides with: the serving blocks, plus drafts when asked. Archived blocks
 * (and any other status) never; slot defaults always stay, so every slot still has an answer.
 */
export function previewCatalog(catalog: Catalog, includeDrafts: boolean): Catalog {
  const defaults = new Set(Object.values(catalog.slots).map((s) => s.defaultBlock));
  const keep = (b: Block) => {
    const status = blockStatus(b);
    return defaults.has(b.id) || status === undefined || SERVING_STATUSES.includes(status) || (includeDrafts && status === "draft");
  };
  return { ...catalog, blocks: catalog.blocks.filter(keep) };
}

/** One candidate of a slot, explained. */
export interface PreviewCandidate {
  blockId: string;
  campaign: string;
  status: string | null;
  /** In the pool the served block was drawn from (passed every rule and cap). */
  eligible: boolean;
  chosen: boolean;
  /** Request-level rule outcomes, in evaluation order. */
  rules: RuleResult[];
  /** Why it was left out, with the reason code's description. */
  excluded: (Exclusion & { description: string }) | null;
  /** What arbitration ranked it by: model score (probability), the block's value and priority, and the rank compared. */
  arbitration: { score: number | null; value: number; priority: number; rank: number | null };
}

/** One slot's preview. */
export interface PreviewSlot {
  slot: string;
  decision: Decision;
  holdoutScope: "universal" | "campaign" | null;
  /** For holdouts: what the model would have served. */
  counterfactualBlockId: string | null;
  pool: string[];
  candidates: PreviewCandidate[];
}

/** The answer of a preview. */
export interface PreviewAnswer {
  recorded: false;
  time: string;
  visitor: { visitorId: string; country: string | null; universalHoldout: boolean; campaignHoldouts: string[] };
  includeDrafts: boolean;
  catalogVersion: number;
  guardrailsVersion: number;
  arm: string | null;
  modelVersion: string | null;
  /** Exactly what `POST /v1/decide` would answer (`decisions`). */
  decisions: Decision[];
  slots: PreviewSlot[];
}

/** The decide request a preview stands for. */
export function decideRequestOf(p: PreviewRequest): DecideRequest {
  // The catch-all index type of signals cannot see that `device` is one of the known ones.
  const signals = (p.device ? { ...p.context.signals, device: p.device } : p.context.signals) as DecideRequest["context"]["signals"];
  return { visitorId: p.visitorId, slots: p.slots, consent: p.consent, context: { ...p.context, signals }, debug: true, record: false };
}

function explain(block: Block, d: CandidateDebug | undefined, pool: Set<string>, chosen: string): PreviewCandidate {
  const ex = d?.excluded;
  return {
    blockId: block.id,
    campaign: block.campaign,
    status: blockStatus(block) ?? null,
    eligible: pool.has(block.id),
    chosen: block.id === chosen,
    rules: d?.rules ?? [],
    excluded: ex ? { ...ex, description: REASONS[ex.reason] } : null,
    arbitration: { score: d?.score ?? null, value: block.value, priority: block.priority, rank: d?.rank ?? null },
  };
}

/**
 * Decides for the described visitor and explains every slot. Throws `unknown_slot` (422) like
 * decide; reads configuration only. `drafts` reads the whole newest catalog version (drafts
 * included), used when the request asks for `includeDrafts`.
 */
export async function previewDecision(p: PreviewRequest, services: Services, drafts?: () => Promise<Catalog>): Promise<PreviewAnswer> {
  const now = p.time ?? services.now();
  // The serving catalog holds approved and live blocks only; drafts come from the newest version.
  const source = p.includeDrafts && drafts ? drafts() : services.catalog.get();
  const [stored, guardrails, storedCampaignHoldouts] = await Promise.all([source, services.guardrails.current(), services.campaignHoldouts()]);
  const catalog = previewCatalog(stored, p.includeDrafts);
  const holdout = p.holdout === undefined ? services.holdout : { ...services.holdout, rate: p.holdout ? 1 : 0 };
  const campaignHoldouts = p.holdout === false ? { campaigns: {} } : storedCampaignHoldouts;
  const request = decideRequestOf(p);
  let n = 0;
  const result = await decide(request, {
    catalog,
    guardrails: withBudgets(guardrails.config, services.budgets),
    models: (visitorId) => services.models.select(visitorId),
    visitorState: () => describedVisitorState(historyFrom(p.history, catalog, now)),
    newId: () => `preview-${++n}`,
    now: () => now,
    holdout,
    campaignHoldouts,
    epsilon: p.explore ? services.epsilon : 0,
    ...(p.country ? { country: p.country } : {}),
    record: false,
  });
  const slots = result.decisions.map((decision, i): PreviewSlot => {
    const trace = result.traces[i];
    const pool = new Set(trace?.pool ?? []);
    const debug = new Map((result.debug[decision.slot] ?? []).map((d) => [d.blockId, d]));
    const candidates = catalog.blocks.filter((b) => b.slots.includes(decision.slot)).map((b) => explain(b, debug.get(b.id), pool, decision.block.id));
    return {
      slot: decision.slot,
      decision,
      holdoutScope: trace?.holdoutScope ?? null,
      counterfactualBlockId: trace?.counterfactualBlockId ?? null,
      pool: trace?.pool ?? [],
      candidates,
    };
  });
  const campaigns = [...new Set(catalog.blocks.map((b) => b.campaign))].filter((c) => campaignHoldout(p.visitorId, c, campaignHoldouts)).sort();
  return {
    recorded: false,
    time: new Date(now).toISOString(),
    visitor: { visitorId: p.visitorId, country: p.country ?? null, universalHoldout: isHeldOut(p.visitorId, holdout), campaignHoldouts: campaigns },
    includeDrafts: p.includeDrafts,
    catalogVersion: catalog.version,
    guardrailsVersion: guardrails.version,
    arm: result.arm ?? null,
    modelVersion: result.run?.version ?? null,
    decisions: result.decisions,
    slots,
  };
}
