/**
 * `computeDrift(db, now)`: the daily drift series (./series.ts) from the aggregates, for the cron
 * trigger. Each run recomputes from the day before the newest day already in the series (its
 * counts may have grown since: late events, the rest of the day) through today, or — on the first
 * run — the last {@link MAX_DAYS} days; rows are upserted, so running it twice changes nothing.
 */
import { utcDay } from "../aggregates/sql.ts";
import { featureDrift, scoreDrift } from "./distributions.ts";
import { calibrationDriftPoints, outcomeDrift, shiftDay } from "./outcomes.ts";
import { lastSeriesDay, writeSeries, type DriftPoint } from "./series.ts";
import { driftThresholds, type DriftThresholds } from "./thresholds.ts";

/** How far back a run computes at most (days, today included). */
export const MAX_DAYS = 35;

export interface ComputeOptions {
  thresholds?: DriftThresholds;
  /** First day to compute ('YYYY-MM-DD'); default: see the module comment. */
  from?: string;
}

/** What a run wrote. */
export interface ComputeResult {
  from: string;
  to: string;
  points: number;
}

/** Computes and upserts the drift series up to the UTC day of `now` (ms). Throws when D1 fails. */
export async function computeDrift(db: D1Database, now: number, options: ComputeOptions = {}): Promise<ComputeResult> {
  const t = options.thresholds ?? driftThresholds();
  const to = utcDay(now);
  const earliest = shiftDay(to, -(MAX_DAYS - 1));
  const last = options.from ? "" : await lastSeriesDay(db);
  let from = options.from ?? (last ? shiftDay(last < to ? last : to, -1) : earliest);
  if (from < earliest) from = earliest;
  const parts = await Promise.all([featureDrift(db, from, to, t), scoreDrift(db, from, to, t), outcomeDrift(db, from, to, t), calibrationDriftPoints(db, from, to, t)]);
  const points: DriftPoint[] = parts.flat();
  await writeSeries(db, points, now);
  return { from, to, points: points.length };
}
