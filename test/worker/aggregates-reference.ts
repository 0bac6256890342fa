/**
 * The aggregates computed directly from raw rows, in plain TypeScript (no SQL), as the reference
 * the incremental fold must equal; and a reader of the aggregate tables for a range of days.
 */
import type { DecisionRow } from "../../worker/audit/d1.ts";
import { scoreBucket } from "../../worker/aggregates/drift.ts";
import { DAY_MS, utcDay } from "../../worker/aggregates/sql.ts";

export interface EventRow {
  id: string;
  time: number;
  type: string;
  name: string | null;
  decision_id: string | null;
  visitor_key: string;
  value: number | null;
  currency: string | null;
}

type Row = Record<string, string | number>;

/** The aggregate tables keyed by day (agg_since is keyed by time). */
export const AGG_TABLES = ["agg_daily", "agg_daily_value", "agg_exposures", "agg_visitor_days", "agg_kpi_daily", "agg_scores", "agg_features", "agg_fatigue", "agg_eligibility", "agg_slot_pool"];
export type Snapshot = Record<string, Row[]>;

/** Adds `add` to the row of `key` in `table` (created from `init`). */
function bump(table: Map<string, Row>, init: Row, add: Record<string, number>, min?: Record<string, number>) {
  const key = JSON.stringify(init);
  const row = table.get(key) ?? { ...init, ...Object.fromEntries(Object.keys(add).map((k) => [k, 0])) };
  for (const [k, v] of Object.entries(add)) row[k] = (row[k] as number) + v;
  for (const [k, v] of Object.entries(min ?? {})) row[k] = row[k] === undefined ? v : Math.min(row[k] as number, v);
  table.set(key, row);
}

const GROUP = (d: DecisionRow) => (d.holdout === 0 ? "treatment" : (d.holdout_scope ?? "universal") === "universal" ? "universal_control" : "campaign_holdout");

/** Every aggregate table as the fold should leave it after all of `decisions` and `events`. */
export function referenceAggregates(decisions: DecisionRow[], events: EventRow[]): Snapshot {
  const t = Object.fromEntries(
    [...AGG_TABLES, "agg_since"].map((n) => [n, new Map<string, Row>()]),
  ) as Record<string, Map<string, Row>>;
  const byId = new Map(decisions.map((d) => [d.decision_id, d]));
  const key = (d: DecisionRow) => ({ day: utcDay(d.time), slot: d.slot, block_id: d.chosen_block_id, model: d.model_version ?? "", arm: d.arm, grp: GROUP(d) });
  const daily = (d: DecisionRow, add: Partial<Record<"decisions" | "impressions" | "clicks" | "conversions", number>>) =>
    bump(t.agg_daily!, key(d), { decisions: 0, impressions: 0, clicks: 0, conversions: 0, ...add });

  const fatigue = (d: DecisionRow, add: Record<string, number>) =>
    d.exposure_ordinal != null && bump(t.agg_fatigue!, { day: utcDay(d.time), block_id: d.chosen_block_id, exposure: Math.min(d.exposure_ordinal, 10) }, { decisions: 0, impressions: 0, clicks: 0, ...add });

  for (const d of decisions) {
    daily(d, { decisions: 1 });
    const day = utcDay(d.time);
    // Content report (migration 0014): fatigue cells, eligibility and exclusions, pool sizes.
    fatigue(d, { decisions: 1 });
    const pool = JSON.parse(d.candidates) as string[];
    for (const c of pool) bump(t.agg_eligibility!, { day, slot: d.slot, block_id: c, reason: "" }, { n: 1 });
    for (const x of JSON.parse(d.excluded) as { blockId: string; reason: string }[]) bump(t.agg_eligibility!, { day, slot: d.slot, block_id: x.blockId, reason: x.reason }, { n: 1 });
    bump(t.agg_slot_pool!, { day, slot: d.slot }, { decisions: 1, eligible: pool.length, starved: pool.length <= 1 ? 1 : 0 });
    const model = d.model_version ?? "";
    if (d.consent_personalization === 1 && d.consent_analytics === 1) {
      const universalControl = d.holdout === 1 && (d.holdout_scope ?? "universal") === "universal" ? 1 : 0;
      const exposure = (experiment: string, control: number) =>
        bump(t.agg_exposures!, { experiment, day, visitor_key: d.visitor_key, slot: d.slot, model }, { decisions: 1, control }, { first_time: d.time });
      exposure("universal", universalControl);
      const campaign = d.holdout === 1 ? d.counterfactual_campaign : d.campaign;
      if (campaign !== null) exposure(`campaign:${campaign}`, d.holdout);
    }
    for (const s of JSON.parse(d.scores) as number[]) bump(t.agg_scores!, { day, model, bucket: scoreBucket(s) }, { n: 1 });
    for (const shadow of JSON.parse(d.shadows) as { modelVersion: string; scores: number[] }[]) {
      for (const s of shadow.scores) bump(t.agg_scores!, { day, model: shadow.modelVersion, bucket: scoreBucket(s) }, { n: 1 });
    }
    const names = JSON.parse(d.feature_names) as string[];
    for (const candidate of JSON.parse(d.features) as number[][]) {
      candidate.forEach((x, j) => {
        if (names[j] !== undefined) bump(t.agg_features!, { day, model, feature: names[j]! }, { n: 1, sum: x, sum_sq: x * x });
      });
    }
  }

  for (const e of events) {
    const kpi = { type: e.type, name: e.name ?? "", currency: e.currency ?? "" };
    bump(t.agg_kpi_daily!, { day: utcDay(e.time), ...kpi }, { events: 1, valued: e.value === null ? 0 : 1, value: e.value ?? 0 });
    bump(t.agg_visitor_days!, { visitor_key: e.visitor_key, day: utcDay(e.time), ...kpi }, { events: 1, value: e.value ?? 0 });
    const d = e.decision_id === null ? undefined : byId.get(e.decision_id);
    if (d && ["impression", "click", "conversion"].includes(e.type)) {
      daily(d, { [`${e.type}s`]: 1 });
      if (e.type === "conversion") bump(t.agg_daily_value!, { ...key(d), currency: e.currency ?? "" }, { conversions: 1, value: e.value ?? 0, value_sq: (e.value ?? 0) ** 2 });
      else fatigue(d, { [`${e.type}s`]: 1 });
    }
  }

  // Same-day outcomes since each distinct first exposure of a visitor.
  const since = new Set([...t.agg_exposures!.values()].map((x) => `${x.visitor_key} ${x.first_time}`));
  for (const s of since) {
    const [visitor, first] = [s.split(" ")[0]!, Number(s.split(" ")[1])];
    const end = first - (first % DAY_MS) + DAY_MS;
    for (const e of events) {
      if (e.visitor_key !== visitor || e.time < first || e.time >= end) continue;
      bump(t.agg_since!, { visitor_key: visitor, since: first, type: e.type, name: e.name ?? "", currency: e.currency ?? "" }, { events: 1, value: e.value ?? 0 });
    }
  }
  return Object.fromEntries(Object.entries(t).map(([name, rows]) => [name, sortRows([...rows.values()])]));
}

function sortRows(rows: Row[]): Row[] {
  const norm = rows.map((r) => Object.fromEntries(Object.keys(r).sort().map((k) => [k, r[k]!])));
  return norm.sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
}

/** Reads every aggregate table for the UTC days [fromDay, toDay] (and their visitors' rows). */
export async function readAggregates(db: D1Database, fromDay: string, toDay: string): Promise<Snapshot> {
  const start = Date.parse(`${fromDay}T00:00:00Z`);
  const end = Date.parse(`${toDay}T00:00:00Z`) + DAY_MS;
  const byDay = AGG_TABLES;
  const results = await db.batch<Row>([
    ...byDay.map((n) => db.prepare(`SELECT * FROM ${n} WHERE day >= ? AND day <= ?`).bind(fromDay, toDay)),
    db.prepare("SELECT * FROM agg_since WHERE since >= ? AND since < ?").bind(start, end),
  ]);
  const out: Snapshot = {};
  [...byDay, "agg_since"].forEach((n, i) => (out[n] = sortRows(results[i]!.results)));
  return out;
}
