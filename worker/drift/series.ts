/**
 * The daily drift time series in D1 (drift_series, migrations/0012_drift.sql): one row per model
 * × kind × subject × UTC day, written by computeDrift (./compute.ts) with an upsert, so computing
 * a day again replaces its row.
 */
import type { DriftStatus } from "./thresholds.ts";

/** What a series row measures. */
export type DriftKind = "feature" | "score" | "outcome" | "calibration";
/** What it is compared with: the manifest's training histogram, the model's first day of serving, the outcome's trailing 28 days, or the model's own predictions. */
export type BaselineKind = "manifest" | "first_day" | "trailing_28d" | "predicted";

/** One point of the series. */
export interface DriftPoint {
  model: string;
  kind: DriftKind;
  /** Feature name; '' for the score; click | conversion for outcomes and calibration. */
  subject: string;
  /** UTC date 'YYYY-MM-DD'. */
  day: string;
  baseline: BaselineKind;
  /** Observations behind it (candidates, scores or impressions). */
  n: number;
  /** Headline figure: PSI (feature, score), the day's rate (outcome), ECE (calibration). */
  value: number | null;
  status: DriftStatus;
  figures: Record<string, number | string | null | unknown[]>;
}

/** Rows per upsert statement (bound as one JSON parameter). */
const CHUNK = 400;

const at = (i: number) => `json_extract(r.value, '$[${i}]')`;
const UPSERT = `INSERT INTO drift_series (model, kind, subject, day, baseline, n, value, status, figures, computed_at)
  SELECT ${at(0)}, ${at(1)}, ${at(2)}, ${at(3)}, ${at(4)}, ${at(5)}, ${at(6)}, ${at(7)}, ${at(8)}, ?2 FROM json_each(?1) r WHERE true
  ON CONFLICT (model, kind, subject, day) DO UPDATE SET baseline = excluded.baseline, n = excluded.n, value = excluded.value,
    status = excluded.status, figures = excluded.figures, computed_at = excluded.computed_at`;

/** Upserts points (one D1 batch). */
export async function writeSeries(db: D1Database, points: DriftPoint[], now: number): Promise<void> {
  const statements: D1PreparedStatement[] = [];
  for (let i = 0; i < points.length; i += CHUNK) {
    const rows = points.slice(i, i + CHUNK).map((p) => [p.model, p.kind, p.subject, p.day, p.baseline, p.n, p.value, p.status, JSON.stringify(p.figures)]);
    statements.push(db.prepare(UPSERT).bind(JSON.stringify(rows), now));
  }
  if (statements.length) await db.batch(statements);
}

interface Row {
  model: string;
  kind: DriftKind;
  subject: string;
  day: string;
  baseline: BaselineKind;
  n: number;
  value: number | null;
  status: DriftStatus;
  figures: string;
}

/** Points with `from ≤ day ≤ to`, optionally of one model, ordered by model, kind, subject, day. */
export async function readSeries(db: D1Database, q: { from: string; to: string; model?: string }): Promise<DriftPoint[]> {
  const { results } = await db
    .prepare(
      `SELECT model, kind, subject, day, baseline, n, value, status, figures FROM drift_series
       WHERE day >= ?1 AND day <= ?2 AND (?3 IS NULL OR model = ?3) ORDER BY model, kind, subject, day LIMIT 50000`,
    )
    .bind(q.from, q.to, q.model ?? null)
    .all<Row>();
  return results.map((r) => ({ ...r, figures: JSON.parse(r.figures) }));
}

/** The newest day in the series ('' when empty). */
export async function lastSeriesDay(db: D1Database): Promise<string> {
  const row = await db.prepare("SELECT MAX(day) AS day FROM drift_series").first<{ day: string | null }>();
  return row?.day ?? "";
}
