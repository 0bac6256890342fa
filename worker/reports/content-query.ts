/**
 * Reads the content report's sums from the aggregates (migrations/0006 and 0014), never from raw
 * decisions or events: rows read grow with days × blocks (× view buckets, × reasons), not with
 * traffic. Every query is grouped in SQL, so only per-block sums leave the database.
 */
import { reportWindow } from "./query.ts";

/** Per block: decisions and the events attributed to them (every group: what was really shown). */
export interface BlockSums {
  blockId: string;
  slots: string[];
  decisions: number;
  impressions: number;
  clicks: number;
  conversions: number;
}

/** Conversion value per block and currency ('' = none): Σv and Σv² over attributed conversions. */
export interface ValueSums {
  blockId: string;
  currency: string;
  conversions: number;
  value: number;
  valueSq: number;
}

/** Fatigue cell: block × week of the window (0 = first 7 days) × view count (1..10, 10 = 10+). */
export interface FatigueCell {
  blockId: string;
  week: number;
  exposure: number;
  decisions: number;
  impressions: number;
  clicks: number;
}

/** Times a block was eligible (reason '') or excluded by a reason code, in any slot. */
export interface EligibilityCell {
  blockId: string;
  reason: string;
  n: number;
}

/** Pool sizes of a slot's decisions. */
export interface SlotPoolSums {
  slot: string;
  decisions: number;
  eligible: number;
  starved: number;
}

export interface ContentData {
  from: number;
  to: number;
  blocks: BlockSums[];
  values: ValueSums[];
  fatigue: FatigueCell[];
  eligibility: EligibilityCell[];
  slots: SlotPoolSums[];
  /** D1's `rows_read` over all the queries. */
  rowsRead: number;
}

/** The window's sums (whole UTC days, as the lift report: see `reportWindow`). */
export async function contentData(db: D1Database, fromMs: number, toMs: number): Promise<ContentData> {
  const w = reportWindow(fromMs, toMs);
  const days = [w.fromDay, w.toDay];
  const [blocks, values, fatigue, eligibility, slots] = await db.batch<Record<string, unknown>>([
    db
      .prepare(
        `SELECT block_id, json_group_array(DISTINCT slot) AS slots, SUM(decisions) AS decisions, SUM(impressions) AS impressions,
           SUM(clicks) AS clicks, SUM(conversions) AS conversions
         FROM agg_daily WHERE day >= ? AND day < ? GROUP BY block_id ORDER BY block_id`,
      )
      .bind(...days),
    db
      .prepare(
        `SELECT block_id, currency, SUM(conversions) AS conversions, SUM(value) AS value, SUM(value_sq) AS value_sq
         FROM agg_daily_value WHERE day >= ? AND day < ? GROUP BY block_id, currency ORDER BY block_id, currency`,
      )
      .bind(...days),
    db
      .prepare(
        `SELECT block_id, CAST((julianday(day) - julianday(?)) / 7 AS INTEGER) AS week, exposure,
           SUM(decisions) AS decisions, SUM(impressions) AS impressions, SUM(clicks) AS clicks
         FROM agg_fatigue WHERE day >= ? AND day < ? GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
      )
      .bind(w.fromDay, ...days),
    db
      .prepare(`SELECT block_id, reason, SUM(n) AS n FROM agg_eligibility WHERE day >= ? AND day < ? GROUP BY block_id, reason ORDER BY block_id, reason`)
      .bind(...days),
    db
      .prepare(`SELECT slot, SUM(decisions) AS decisions, SUM(eligible) AS eligible, SUM(starved) AS starved FROM agg_slot_pool WHERE day >= ? AND day < ? GROUP BY slot ORDER BY slot`)
      .bind(...days),
  ]);
  const num = (v: unknown) => (typeof v === "number" ? v : 0);
  return {
    from: w.from,
    to: w.to,
    blocks: blocks!.results.map((r) => ({
      blockId: String(r.block_id),
      slots: (JSON.parse(String(r.slots)) as string[]).sort(),
      decisions: num(r.decisions),
      impressions: num(r.impressions),
      clicks: num(r.clicks),
      conversions: num(r.conversions),
    })),
    values: values!.results.map((r) => ({ blockId: String(r.block_id), currency: String(r.currency), conversions: num(r.conversions), value: num(r.value), valueSq: num(r.value_sq) })),
    fatigue: fatigue!.results.map((r) => ({ blockId: String(r.block_id), week: num(r.week), exposure: num(r.exposure), decisions: num(r.decisions), impressions: num(r.impressions), clicks: num(r.clicks) })),
    eligibility: eligibility!.results.map((r) => ({ blockId: String(r.block_id), reason: String(r.reason), n: num(r.n) })),
    slots: slots!.results.map((r) => ({ slot: String(r.slot), decisions: num(r.decisions), eligible: num(r.eligible), starved: num(r.starved) })),
    rowsRead: [blocks, values, fatigue, eligibility, slots].reduce((a, r) => a + (r!.meta.rows_read ?? 0), 0),
  };
}
