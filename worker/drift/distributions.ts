/**
 * Feature and score distribution drift from the aggregates (agg_feature_bins, agg_score_bins,
 * agg_scores; never raw decisions): per model × feature × day, the PSI and Jensen–Shannon distance
 * of the day's bin counts against the manifest's training histogram, or — without one — against
 * the model's first day of serving with at least `minCount` observations (the first such day
 * itself reads 0).
 */
import { baseVersion, loadManifestBaselines, modelBinning } from "../aggregates/drift-bins.ts";
import { SCORE_BINS } from "../aggregates/drift.ts";
import { baselineProportions, binCount, type Binning } from "./baseline.ts";
import { jensenShannon, psi } from "./metrics.ts";
import type { DriftPoint } from "./series.ts";
import { psiStatus, type DriftThresholds } from "./thresholds.ts";

type BinRow = { day: string; model: string; key: string; bin: number; n: number };

/** (model, key) → day → counts vector. */
function vectors(rows: BinRow[], size: (model: string, key: string) => number, offset = 0): Map<string, Map<string, number[]>> {
  const out = new Map<string, Map<string, number[]>>();
  for (const r of rows) {
    const id = `${r.model}\u0000${r.key}`;
    let days = out.get(id);
    if (!days) out.set(id, (days = new Map()));
    let v = days.get(r.day);
    if (!v) days.set(r.day, (v = new Array<number>(size(r.model, r.key)).fill(0)));
    const i = r.bin + offset;
    if (i >= 0 && i < v.length) v[i]! += r.n;
  }
  return out;
}

const sum = (v: number[]) => v.reduce((a, b) => a + b, 0);

/** The bins of each (model, feature)'s first day with ≥ ?2 candidates (else its first day), for models ?1. */
const FEATURE_FIRST_DAYS = `WITH totals AS (
    SELECT day, model, feature, SUM(n) AS t FROM agg_feature_bins WHERE model IN (SELECT value FROM json_each(?1)) GROUP BY 1, 2, 3),
  firsts AS (SELECT model, feature, COALESCE(MIN(CASE WHEN t >= ?2 THEN day END), MIN(day)) AS day FROM totals GROUP BY 1, 2)
  SELECT b.day, b.model, b.feature AS key, b.bin, b.n FROM agg_feature_bins b JOIN firsts f ON f.model = b.model AND f.feature = b.feature AND f.day = b.day`;

function point(model: string, kind: "feature" | "score", subject: string, day: string, counts: number[], base: { proportions: number[]; kind: "manifest" | "first_day"; day?: string }, t: DriftThresholds): DriftPoint {
  const n = sum(counts);
  const value = n > 0 ? psi(base.proportions, counts) : null;
  const js = n > 0 ? jensenShannon(base.proportions, counts) : null;
  return {
    model,
    kind,
    subject,
    day,
    baseline: base.kind,
    n,
    value,
    status: value === null ? "insufficient" : psiStatus(value, n, t),
    figures: { psi: value, js, n, baselineDay: base.day ?? null, bins: counts.length, psiWarn: t.psiWarn, psiAlert: t.psiAlert },
  };
}

/** Feature drift points for the days from `from` to `to` (inclusive). */
export async function featureDrift(db: D1Database, from: string, to: string, t: DriftThresholds): Promise<DriftPoint[]> {
  const { results } = await db
    .prepare("SELECT day, model, feature AS key, bin, n FROM agg_feature_bins WHERE day >= ?1 AND day <= ?2 AND model != ''")
    .bind(from, to)
    .all<BinRow>();
  if (!results.length) return [];
  const models = [...new Set(results.map((r) => r.model))];
  const baselines = await loadManifestBaselines(db, models);
  const binnings = new Map(models.map((m) => [m, modelBinning(m, baselines.get(baseVersion(m)) ?? null)]));
  const binningOf = (model: string, feature: string): Binning => binnings.get(model)?.features.get(feature) ?? { kind: "default" };
  const size = (model: string, feature: string) => binCount(binningOf(model, feature));
  const firsts = await db.prepare(FEATURE_FIRST_DAYS).bind(JSON.stringify(models), t.minCount).all<BinRow>();
  const firstDay = vectors(firsts.results, size);
  const out: DriftPoint[] = [];
  for (const [id, days] of vectors(results, size)) {
    const [model, feature] = id.split("\u0000") as [string, string];
    const histograms = baselines.get(baseVersion(model))?.baseline?.histograms ?? {};
    let base: { proportions: number[]; kind: "manifest" | "first_day"; day?: string } | undefined;
    if (Object.hasOwn(histograms, feature)) base = { proportions: baselineProportions(histograms[feature]!), kind: "manifest" };
    else {
      const [day, counts] = [...(firstDay.get(id) ?? new Map<string, number[]>())][0] ?? [];
      if (day && counts) base = { proportions: counts, kind: "first_day", day };
    }
    if (!base) continue;
    for (const [day, counts] of days) out.push(point(model, "feature", feature, day, counts, base, t));
  }
  return out;
}

/** agg_scores buckets −1 … SCORE_BINS as indexes 0 … SCORE_BINS + 1. */
const FIXED_SCORE_SIZE = SCORE_BINS + 2;

/** Score distribution drift points: manifest score edges when the model has them, else agg_scores vs the first day. */
export async function scoreDrift(db: D1Database, from: string, to: string, t: DriftThresholds): Promise<DriftPoint[]> {
  const [edged, fixed] = await db.batch<BinRow>([
    db.prepare("SELECT day, model, '' AS key, bin, n FROM agg_score_bins WHERE day >= ?1 AND day <= ?2 AND model != ''").bind(from, to),
    db.prepare("SELECT day, model, '' AS key, bucket AS bin, n FROM agg_scores WHERE day >= ?1 AND day <= ?2 AND model != ''").bind(from, to),
  ]);
  const models = [...new Set([...edged!.results, ...fixed!.results].map((r) => r.model))];
  if (!models.length) return [];
  const baselines = await loadManifestBaselines(db, models);
  const out: DriftPoint[] = [];
  const withEdges = new Set<string>();
  for (const m of models) {
    const scores = baselines.get(baseVersion(m))?.baseline?.scores;
    if (scores && m === baseVersion(m)) {
      withEdges.add(m);
      const size = scores.edges.length - 1;
      for (const [, days] of vectors(edged!.results.filter((r) => r.model === m), () => size)) {
        for (const [day, counts] of days) out.push(point(m, "score", "", day, counts, { proportions: baselineProportions(scores), kind: "manifest" }, t));
      }
    }
  }
  const rest = models.filter((m) => !withEdges.has(m));
  if (!rest.length) return out;
  const sql = `WITH totals AS (SELECT day, model, SUM(n) AS t FROM agg_scores WHERE model IN (SELECT value FROM json_each(?1)) GROUP BY 1, 2),
    firsts AS (SELECT model, COALESCE(MIN(CASE WHEN t >= ?2 THEN day END), MIN(day)) AS day FROM totals GROUP BY 1)
    SELECT b.day, b.model, '' AS key, b.bucket AS bin, b.n FROM agg_scores b JOIN firsts f ON f.model = b.model AND f.day = b.day`;
  const firsts = vectors((await db.prepare(sql).bind(JSON.stringify(rest), t.minCount).all<BinRow>()).results, () => FIXED_SCORE_SIZE, 1);
  const current = vectors(fixed!.results.filter((r) => rest.includes(r.model)), () => FIXED_SCORE_SIZE, 1);
  for (const [id, days] of current) {
    const [day, counts] = [...(firsts.get(id) ?? new Map<string, number[]>())][0] ?? [];
    if (!day || !counts) continue;
    const model = id.split("\u0000")[0]!;
    for (const [d, c] of days) out.push(point(model, "score", "", d, c, { proportions: counts, kind: "first_day", day }, t));
  }
  return out;
}
