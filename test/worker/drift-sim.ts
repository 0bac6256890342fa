/**
 * A seeded serving simulation for the drift tests: decisions and their events as the producers
 * queue them, delivered through the real log consumer (worker/pipeline/consume.ts with the
 * production wiring's aggregate statements, test/worker/pipeline-harness.ts's delivery loop).
 */
import { env } from "cloudflare:workers";
import { mulberry32 } from "../../models/prng.ts";
import { DAY_MS } from "../../worker/aggregates/sql.ts";
import type { AuditRecord } from "../../worker/audit/record.ts";
import type { StoredEvent } from "../../worker/events/schema.ts";
import { HASH_VERSION } from "../../worker/holdout/hash.ts";
import { consumeLog } from "../../worker/pipeline/consume.ts";
import { consumerDeps } from "../../worker/pipeline/wire.ts";
import { visitorKey } from "../../worker/visitor/key.ts";
import { drain, type Delivery } from "./pipeline-harness.ts";

/** Features of the simulated model: two visitor-level, two per candidate. */
export const FEATURES = ["first_visit", "scroll_depth", "category_affinity", "block_priority"] as const;
const BLOCKS = ["b-shoes", "b-bags", "b-coats", "b-default"];
const PRIORITY = [0.3, 0.5, 0.2, 0.1];

/** How a day deviates from normal. */
export interface DayShift {
  /** scroll_depth drawn from [0.6, 1) instead of [0, 1). */
  scrollShift?: boolean;
  /** Clicks happen with the served score × this. */
  clickFactor?: number;
}

/** One candidate's feature row and score. */
function candidate(u: () => number, visitor: { firstVisit: number; scroll: number }, b: number) {
  const affinity = u();
  const row = [visitor.firstVisit, visitor.scroll, affinity, PRIORITY[b]!];
  const score = 1 / (1 + Math.exp(-(-2.5 + 1.2 * affinity + 0.1 * visitor.scroll - 0.5 * visitor.firstVisit + PRIORITY[b]!)));
  return { row, score };
}

function visitor(u: () => number, shift: DayShift) {
  return { firstVisit: u() < 0.3 ? 1 : 0, scroll: shift.scrollShift ? 0.6 + 0.4 * u() : u() };
}

/** Training sample of the same generator: feature columns and scores (what `npm run train` would see). */
export function trainingSample(seed: number, rows: number): { columns: number[][]; scores: number[] } {
  const u = mulberry32(seed);
  const columns: number[][] = FEATURES.map(() => []);
  const scores: number[] = [];
  for (let i = 0; i < rows; i++) {
    const v = visitor(u, {});
    const c = candidate(u, v, Math.floor(u() * BLOCKS.length));
    c.row.forEach((x, j) => columns[j]!.push(x));
    scores.push(c.score);
  }
  return { columns, scores };
}

const keys = new Map<string, string>();
async function keyOf(id: string): Promise<string> {
  if (!keys.has(id)) keys.set(id, await visitorKey(id));
  return keys.get(id)!;
}

/** `perDay` decisions of `model` on the UTC day starting at `day0` (ms), with an impression each and clicks. */
export async function simulateDay(o: { prefix: string; model: string; day0: number; perDay: number; seed: number; shift?: DayShift }) {
  const u = mulberry32(o.seed);
  const shift = o.shift ?? {};
  const decisions: AuditRecord[] = [];
  const events: StoredEvent[] = [];
  for (let i = 0; i < o.perDay; i++) {
    const vk = await keyOf(`${o.prefix}-v${i % 200}`);
    const time = o.day0 + Math.floor(((i + 0.5) / o.perDay) * (DAY_MS - 1000));
    const v = visitor(u, shift);
    const cands = BLOCKS.map((_, b) => candidate(u, v, b));
    const best = cands.reduce((bi, c, k) => (c.score > cands[bi]!.score ? k : bi), 0);
    const decisionId = `${o.prefix}-${o.day0}-${i}`;
    decisions.push({
      time, decisionId, visitorKey: vk, slot: "hero", page: null, reason: "ranked",
      consent: { personalization: true, analytics: true },
      candidates: BLOCKS, excluded: [], featureNames: [...FEATURES],
      features: cands.map((c) => c.row), scores: cands.map((c) => c.score),
      chosenBlockId: BLOCKS[best]!, propensity: 1, explored: false, holdout: false, holdoutScope: null,
      counterfactualBlockId: null, counterfactualCampaign: null, campaign: null, modelVersion: o.model,
      arm: "champion", shadows: [], latencyMs: 1, hashVersion: HASH_VERSION,
    });
    const base = { name: null, decisionId, visitorKey: vk, blockId: BLOCKS[best]!, slot: "hero", value: null, currency: null };
    events.push({ ...base, id: `${decisionId}-i`, time: time + 500, type: "impression" });
    if (u() < cands[best]!.score * (shift.clickFactor ?? 1)) events.push({ ...base, id: `${decisionId}-c`, time: time + 900, type: "click" });
  }
  return { decisions, events };
}

let messageCount = 0;

/** Queues records as messages of `perMessage` and delivers them through the consumer (no lake flush). */
export async function deliver(decisions: AuditRecord[], events: StoredEvent[], now: number): Promise<void> {
  const deliveries: Delivery[] = [];
  const chunk = <R>(kind: string, records: R[], per: number) => {
    for (let i = 0; i < records.length; i += per) deliveries.push({ id: `${kind}-${++messageCount}`, body: { v: 1, kind, records: records.slice(i, i + per) }, attempts: 1 });
  };
  chunk("decisions", decisions, 40);
  chunk("events", events, 200);
  const deps = { ...consumerDeps(env, () => now), afterCommit: undefined };
  const { dead } = await drain(deliveries, (batch) => consumeLog(batch, deps));
  if (dead.length) throw new Error(`${dead.length} messages dead-lettered`);
}
