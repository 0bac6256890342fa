/**
 * The content report (`GET /admin/reports/content`): performance per block and campaign, creative
 * fatigue (./fatigue.ts) and content supply — blocks that were never eligible, and slots whose
 * decisions had at most one eligible option. Pure: the sums come from ./content-query.ts.
 *
 * Intervals (worker/stats/), each at `confidence` (95% by default):
 * - CTR = clicks / impressions and CVR = conversions / impressions: Wilson score interval
 *   (Wilson 1927; Newcombe 1998, method 3). Counts above the impressions (several conversions on
 *   one view, events without an impression) are capped at the impressions for the interval.
 * - Revenue per impression: normal-approximation (CLT) interval of a mean from Σv and Σv² of the
 *   attributed conversion values, every other impression counting 0 (exact when a view converts
 *   at most once); the revenue total's interval is that × impressions. Conversions folded before
 *   migration 0014 carry no Σv², which shows as Σv² < (Σv)²/conversions: no interval then.
 */
import type { Block, Catalog } from "../catalog/schema.ts";
import { REASONS, type ReasonCode } from "../guardrails/reasons.ts";
import { meanInterval } from "../stats/means.ts";
import { wilson, type Interval } from "../stats/proportions.ts";
import type { BlockSums, ContentData, ValueSums } from "./content-query.ts";
import { fatigueOf, type Fatigue } from "./fatigue.ts";

export interface ContentOptions {
  confidence: number;
  /** Significance of the fatigue flag (split over its two tests). */
  alpha: number;
  /** Impressions each compared group needs before a block can be flagged. */
  minImpressions: number;
}

export interface Revenue {
  currency: string | null;
  conversions: number;
  total: number;
  totalInterval: Interval;
  perImpression: Interval;
}

export interface Performance {
  decisions: number;
  impressions: number;
  clicks: number;
  conversions: number;
  ctr: Interval;
  cvr: Interval;
  revenue: Revenue[];
}

export interface BlockReport extends Performance {
  blockId: string;
  /** From the current catalog; null for a block it no longer holds. */
  campaign: string | null;
  status: string | null;
  slots: string[];
  fatigue: Fatigue;
}

export interface ExclusionCount {
  reason: string;
  count: number;
  description: string | null;
}

/** A catalog block that was not once in a decision's pool in the window. */
export interface NeverEligible {
  blockId: string;
  campaign: string;
  slots: string[];
  /** Times it was a candidate and excluded. 0: its slots were never decided in the window. */
  considered: number;
  topReason: string | null;
  exclusions: ExclusionCount[];
}

export interface SlotSupply {
  slot: string;
  decisions: number;
  meanEligible: number | null;
  /** Decisions with at most one eligible block (nothing to choose from). */
  starved: number;
  starvedShare: Interval;
}

function revenueOf(values: ValueSums[], impressions: number, confidence: number): Revenue[] {
  return values.map((v) => {
    const broken = v.conversions > 0 && v.valueSq + 1e-9 * Math.abs(v.value * v.value) < (v.value * v.value) / v.conversions;
    const per = impressions > 0 && !broken ? meanInterval({ n: impressions, sum: v.value, sumSquares: v.valueSq }, confidence) : { estimate: impressions > 0 ? v.value / impressions : null, low: null, high: null };
    const scale = (x: number | null) => (x === null ? null : x * impressions);
    return {
      currency: v.currency || null,
      conversions: v.conversions,
      total: v.value,
      totalInterval: { estimate: v.value, low: scale(per.low), high: scale(per.high) },
      perImpression: per,
    };
  });
}

function performance(s: Omit<BlockSums, "blockId" | "slots">, values: ValueSums[], confidence: number): Performance {
  const rate = (x: number) => wilson({ n: s.impressions, x: Math.min(x, s.impressions) }, confidence);
  return { decisions: s.decisions, impressions: s.impressions, clicks: s.clicks, conversions: s.conversions, ctr: rate(s.clicks), cvr: rate(s.conversions), revenue: revenueOf(values, s.impressions, confidence) };
}

function sumValues(values: ValueSums[]): ValueSums[] {
  const by = new Map<string, ValueSums>();
  for (const v of values) {
    const t = by.get(v.currency) ?? { blockId: "", currency: v.currency, conversions: 0, value: 0, valueSq: 0 };
    t.conversions += v.conversions;
    t.value += v.value;
    t.valueSq += v.valueSq;
    by.set(v.currency, t);
  }
  return [...by.values()].sort((a, b) => a.currency.localeCompare(b.currency));
}

const statusOf = (b: Block | undefined) => {
  const s = (b as { status?: unknown } | undefined)?.status;
  return typeof s === "string" ? s : null;
};
const serving = (b: Block) => ["live", "approved", null].includes(statusOf(b));

/** Assembles the report from the window's sums and the current catalog. */
export function contentReport(data: ContentData, catalog: Catalog, o: ContentOptions) {
  const byId = new Map(catalog.blocks.map((b) => [b.id, b]));
  const blocks: BlockReport[] = data.blocks
    .map((s) => ({
      blockId: s.blockId,
      campaign: byId.get(s.blockId)?.campaign ?? null,
      status: statusOf(byId.get(s.blockId)),
      slots: s.slots,
      ...performance(s, data.values.filter((v) => v.blockId === s.blockId), o.confidence),
      fatigue: fatigueOf(data.fatigue.filter((f) => f.blockId === s.blockId), { ...o, from: data.from }),
    }))
    .sort((a, b) => b.impressions - a.impressions || b.decisions - a.decisions || a.blockId.localeCompare(b.blockId));

  const campaignNames = [...new Set(blocks.map((b) => b.campaign).filter((c): c is string => c !== null))].sort();
  const campaigns = campaignNames.map((campaign) => {
    const own = blocks.filter((b) => b.campaign === campaign);
    const sum = (k: "decisions" | "impressions" | "clicks" | "conversions") => own.reduce((a, b) => a + b[k], 0);
    const ids = new Set(own.map((b) => b.blockId));
    const totals = { decisions: sum("decisions"), impressions: sum("impressions"), clicks: sum("clicks"), conversions: sum("conversions") };
    return { campaign, blocks: [...ids].sort(), ...performance(totals, sumValues(data.values.filter((v) => ids.has(v.blockId))), o.confidence) };
  });

  const refresh = blocks
    .filter((b) => b.fatigue.flagged)
    .map((b) => ({ blockId: b.blockId, campaign: b.campaign, reasons: b.fatigue.reasons, viewTrendZ: b.fatigue.viewTrend?.z ?? null, weekTrendZ: b.fatigue.weekTrend?.z ?? null, byViews: b.fatigue.byViews.map((l) => ({ views: l.views, clickRate: l.clickRate.estimate })) }))
    .sort((a, b) => Math.min(a.viewTrendZ ?? 0, a.weekTrendZ ?? 0) - Math.min(b.viewTrendZ ?? 0, b.weekTrendZ ?? 0));

  const neverEligible: NeverEligible[] = catalog.blocks
    .filter(serving)
    .filter((b) => !data.eligibility.some((e) => e.blockId === b.id && e.reason === "" && e.n > 0))
    .map((b) => {
      const exclusions = data.eligibility
        .filter((e) => e.blockId === b.id && e.reason !== "")
        .map((e) => ({ reason: e.reason, count: e.n, description: (REASONS as Record<string, string>)[e.reason as ReasonCode] ?? null }))
        .sort((x, y) => y.count - x.count || x.reason.localeCompare(y.reason));
      return { blockId: b.id, campaign: b.campaign, slots: b.slots, considered: exclusions.reduce((a, e) => a + e.count, 0), topReason: exclusions[0]?.reason ?? null, exclusions };
    })
    .sort((a, b) => b.considered - a.considered || a.blockId.localeCompare(b.blockId));

  const slots: SlotSupply[] = data.slots.map((s) => ({
    slot: s.slot,
    decisions: s.decisions,
    meanEligible: s.decisions > 0 ? s.eligible / s.decisions : null,
    starved: s.starved,
    starvedShare: wilson({ n: s.decisions, x: s.starved }, o.confidence),
  }));

  return { blocks, campaigns, refresh, neverEligible, slots };
}
