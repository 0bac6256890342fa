/**
 * A seeded, hand-checkable-in-kind log for the aggregate tests: decisions over three UTC days in
 * two slots, two models and no model, both arms, all three groups, missing consent; events of
 * every type, before and after exposure, with and without a value and currency, about decisions
 * that exist and one that never arrives, and from visitors never decided for.
 */
import type { AuditRecord } from "../../worker/audit/record.ts";
import type { StoredEvent } from "../../worker/events/schema.ts";
import { aggregateStatements } from "../../worker/aggregates/statements.ts";
import { DAY_MS } from "../../worker/aggregates/sql.ts";
import { d1AuditSink } from "../../worker/audit/d1.ts";
import { d1EventStore } from "../../worker/events/store.ts";
import { visitorKey } from "../../worker/visitor/key.ts";
import { mulberry32 } from "../../models/prng.ts";
import { auditRecord } from "./audit-fixtures.ts";

/** The repository's seeded generator (models/prng.ts): test data only. */
export const seeded = mulberry32;

export interface Log {
  decisions: AuditRecord[];
  events: StoredEvent[];
}

/**
 * `visitors` visitors from `day0` (ms, a UTC midnight) over 3 days. Values are multiples of 1/8
 * so that sums are exact in any order.
 */
export async function makeLog(prefix: string, day0: number, visitors: number, seed: number): Promise<Log> {
  const rnd = seeded(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const eighth = (max: number) => Math.floor(rnd() * max * 8) / 8;
  const decisions: AuditRecord[] = [];
  const events: StoredEvent[] = [];
  let n = 0;
  const event = (over: Partial<StoredEvent> & Pick<StoredEvent, "type" | "time" | "visitorKey">): void => {
    events.push({ id: `${prefix}-e${n++}`, name: null, decisionId: null, blockId: null, slot: null, value: null, currency: null, ...over });
  };
  for (let v = 0; v < visitors; v++) {
    const key = await visitorKey(`${prefix}-v${v}`);
    const group = pick(["t", "t", "t", "t", "ucg", "ch", "mixed"] as const);
    const decisionCount = 1 + Math.floor(rnd() * 4);
    for (let k = 0; k < decisionCount; k++) {
      const time = day0 + Math.floor(rnd() * 3) * DAY_MS + Math.floor(rnd() * DAY_MS);
      const control = group === "ucg" || (group === "mixed" && k % 2 === 1);
      const campaignHoldout = group === "ch";
      const campaign = pick(["spring", "bags", null] as const);
      const decisionId = `${prefix}-d${v}-${k}`;
      const candidates = 1 + Math.floor(rnd() * 3);
      decisions.push(
        await auditRecord({
          decisionId,
          visitorId: `${prefix}-v${v}`,
          time,
          slot: pick(["hero", "sidebar"]),
          chosenBlockId: pick(["b-shoes", "b-bags", "b-default"]),
          modelVersion: pick(["m@aaaaaaaaaaaa", "m@bbbbbbbbbbbb", null]),
          arm: pick(["champion", "champion", "challenger"]),
          consent: { personalization: rnd() < 0.92, analytics: rnd() < 0.92 },
          holdout: control || campaignHoldout,
          holdoutScope: control ? "universal" : campaignHoldout ? "campaign" : null,
          reason: control ? "holdout" : "ranked",
          campaign: control ? "house" : campaign,
          counterfactualCampaign: control || campaignHoldout ? pick(["spring", "bags"]) : null,
          // Content report inputs, derived without the generator (the other draws stay as they were).
          candidates: ["b-shoes", "b-bags", "b-default"].slice(0, candidates),
          excluded: v % 3 === 0 ? [] : [{ blockId: "b-promo", reason: v % 2 ? "country" : "cap_block" }],
          ...(control || k % 4 === 3 ? {} : { exposureOrdinal: k + 1 + (v % 11 === 0 ? 12 : 0) }),
          featureNames: ["f_a", "f_b"],
          features: Array.from({ length: candidates }, () => [eighth(2), eighth(1) - 0.5]),
          scores: Array.from({ length: candidates }, () => Math.floor(rnd() * 20 - 1) / 16),
          shadows: rnd() < 0.5 ? [] : [{ modelVersion: pick(["shadow@1", "shadow@2"]), chosenBlockId: null, scores: Array.from({ length: candidates }, () => Math.floor(rnd() * 16) / 16) }],
        }),
      );
      if (rnd() < 0.7) event({ type: "impression", time: time + 100, visitorKey: key, decisionId });
      if (rnd() < 0.3) event({ type: "click", time: time + 2000, visitorKey: key, decisionId });
      if (rnd() < 0.25) {
        const valued = rnd() < 0.8;
        event({ type: "conversion", time: time + Math.floor(rnd() * DAY_MS), visitorKey: key, decisionId, value: valued ? eighth(100) : null, currency: valued ? pick(["EUR", "USD"]) : null });
      }
    }
    // Outcomes not tied to a decision: some before the first exposure, some on later days.
    if (rnd() < 0.3) event({ type: "custom", name: "signup", time: day0 + Math.floor(rnd() * 3 * DAY_MS), visitorKey: key });
    if (rnd() < 0.2) event({ type: "conversion", time: day0 + Math.floor(rnd() * 3 * DAY_MS), visitorKey: key, value: eighth(50), currency: "EUR" });
    if (rnd() < 0.1) event({ type: "click", time: day0 + 5, visitorKey: key, decisionId: `${prefix}-never-arrives` });
  }
  // A visitor nobody decided for.
  event({ type: "conversion", time: day0 + 1000, visitorKey: await visitorKey(`${prefix}-stranger`), value: 3, currency: "EUR" });
  return { decisions, events };
}

/** What the log consumer does per message batch: insert the rows, then fold them. */
export async function deliverRecords(db: D1Database, decisions: AuditRecord[], events: StoredEvent[]): Promise<void> {
  await d1AuditSink(db).write(decisions);
  await d1EventStore(db).insert(events);
  const statements = aggregateStatements(db, { decisionIds: decisions.map((d) => d.decisionId), eventIds: events.map((e) => e.id), decisions });
  if (statements.length) await db.batch(statements);
}

/** Cuts the log into consumer batches of about `size` records, mixing decisions and events. */
export function batches(records: ({ kind: "d"; r: AuditRecord } | { kind: "e"; r: StoredEvent })[], size: number) {
  const out: (typeof records)[] = [];
  for (let i = 0; i < records.length; i += size) out.push(records.slice(i, i + size));
  return out;
}

/** Fisher–Yates shuffle with the seeded generator. */
export function shuffle<T>(xs: T[], seed: number): T[] {
  const rnd = seeded(seed);
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
