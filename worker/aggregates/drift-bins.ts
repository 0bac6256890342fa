/**
 * Histograms for drift (issue 15), folded by the consumer beside the sums of ./drift.ts:
 * - per day × model × feature, candidates per bin (agg_feature_bins): by the model's manifest
 *   histogram of the feature when it has one (quantile edges, or categorical values + "other"),
 *   else on the default grid (worker/drift/baseline.ts, DEFAULT_EDGES) — the population
 *   stability index needs counts per bin (Yurdakul 2018), not just Σx and Σx²;
 * - per day × model, scores per bin of the manifest's score baseline (agg_score_bins; models
 *   without one keep agg_scores' 20 fixed bins);
 * - per decision day × model × reliability bin of the served block's score: impressions, Σ score,
 *   clicks and conversions of ranked, not held-out decisions (agg_calibration), when events are
 *   attributed — predicted vs observed per bin without reading decisions again.
 *
 * Counts are computed in JavaScript from the records the consumer holds (like driftRows) and
 * folded only for decisions the batch really inserted (`agg_applied = 0`), so a redelivered batch
 * changes nothing. The binning of a model version comes from its manifest in D1, cached per
 * isolate (a version's manifest never changes: the version is name@sha12 of the file).
 */
import { binOfValue, binningOf, type Binning } from "../drift/baseline.ts";
import { float32Threshold } from "../audit/float32.ts";
import type { ModelManifest } from "../ranking/manifest.ts";
import type { DriftSource } from "./drift.ts";
import type { FoldTable } from "./drift-fold.ts";
import { dayOf, idsIn, utcDay } from "./sql.ts";

/** How one model version's values are binned. */
export interface ModelBinning {
  /** Features with a manifest histogram (the others use the default grid). */
  features: Map<string, Binning>;
  /** The manifest's score baseline edges, when it has them (the exact version, not `+cal<n>`). */
  scores?: Binning;
}

/** Model version → its binning. Versions missing from the map use the default grid throughout. */
export type DriftBinnings = Map<string, ModelBinning>;

/** `name@sha12+cal3` → `name@sha12`: calibration changes scores, not features. */
export const baseVersion = (version: string) => version.split("+")[0]!;

/** The binning a manifest's baseline implies for `version`. */
export function modelBinning(version: string, manifest: Pick<ModelManifest, "baseline"> | null): ModelBinning {
  const features = new Map<string, Binning>();
  for (const [name, h] of Object.entries(manifest?.baseline?.histograms ?? {})) features.set(name, binningOf(h));
  const scores = manifest?.baseline?.scores && version === baseVersion(version) ? binningOf(manifest.baseline.scores) : undefined;
  return { features, ...(scores ? { scores } : {}) };
}

/** Per-isolate cache: base version → its manifest's baseline, outcome and output (null: no such model in D1). */
const manifests = new Map<string, Pick<ModelManifest, "baseline" | "outcome" | "output"> | null>();

/**
 * The manifests' baselines of model versions, from the `models` table (cached per isolate; one
 * query for the versions not cached yet). Throws when D1 fails (the consumer then retries).
 */
export async function loadManifestBaselines(db: D1Database, versions: Iterable<string>): Promise<Map<string, Pick<ModelManifest, "baseline" | "outcome" | "output"> | null>> {
  const bases = [...new Set([...versions].filter(Boolean).map(baseVersion))];
  const missing = bases.filter((v) => !manifests.has(v));
  if (missing.length) {
    const { results } = await db
      .prepare(`SELECT version, manifest FROM models WHERE version IN ${idsIn(1)}`)
      .bind(JSON.stringify(missing))
      .all<{ version: string; manifest: string }>();
    for (const v of missing) manifests.set(v, null);
    for (const r of results) {
      const m = JSON.parse(r.manifest) as ModelManifest;
      manifests.set(r.version, { baseline: m.baseline, outcome: m.outcome, output: m.output });
    }
  }
  return new Map(bases.map((v) => [v, manifests.get(v) ?? null]));
}

/** The binnings of the model versions (serving and shadow) of these decisions. */
export async function driftBinnings(db: D1Database, decisions: DriftSource[]): Promise<DriftBinnings> {
  const versions = new Set<string>();
  for (const d of decisions) {
    if (d.modelVersion) versions.add(d.modelVersion);
    for (const s of d.shadows) versions.add(s.modelVersion);
  }
  if (!versions.size) return new Map();
  const baselines = await loadManifestBaselines(db, versions);
  return new Map([...versions].map((v) => [v, modelBinning(v, baselines.get(baseVersion(v)) ?? null)]));
}

/** Per-decision bin counts, as JSON rows for {@link DRIFT_BIN_SQL}. */
export interface DriftBinRows {
  /** [decisionId, day, model, feature, bin, n] */
  features: [string, string, string, string, number, number][];
  /** [decisionId, day, model, bin, n] */
  scores: [string, string, string, number, number][];
}

const DEFAULT: Binning = { kind: "default" };

/** The bin counts each decision contributes (features of the serving model; scores of models with edges). */
export function driftBinRows(decisions: DriftSource[], binnings: DriftBinnings = new Map()): DriftBinRows {
  const out: DriftBinRows = { features: [], scores: [] };
  for (const d of decisions) {
    const day = utcDay(d.time);
    const model = d.modelVersion ?? "";
    const own = binnings.get(model);
    d.featureNames.forEach((feature, j) => {
      const binning = own?.features.get(feature) ?? DEFAULT;
      const counts = new Map<number, number>();
      for (const candidate of d.features) {
        const x = candidate[j];
        if (x === undefined) continue;
        const b = binOfValue(binning, x);
        counts.set(b, (counts.get(b) ?? 0) + 1);
      }
      for (const [bin, n] of counts) out.features.push([d.decisionId, day, model, feature, bin, n]);
    });
    const scored = [{ version: model, scores: d.scores }, ...d.shadows.map((s) => ({ version: s.modelVersion, scores: s.scores }))];
    for (const { version, scores } of scored) {
      const edges = binnings.get(version)?.scores;
      if (!edges || !scores.length) continue;
      const counts = new Map<number, number>();
      for (const s of scores) counts.set(binOfValue(edges, s), (counts.get(binOfValue(edges, s)) ?? 0) + 1);
      for (const [bin, n] of counts) out.scores.push([d.decisionId, day, version, bin, n]);
    }
  }
  return out;
}

/** The tables the rows of {@link driftBinRows} are folded into (./drift-fold.ts). */
export const DRIFT_BIN_TABLES = {
  features: { table: "agg_feature_bins", keys: ["day", "model", "feature", "bin"], values: ["n"] },
  scores: { table: "agg_score_bins", keys: ["day", "model", "bin"], values: ["n"] },
} as const satisfies Record<string, FoldTable>;

/** Reliability bins of agg_calibration (as worker/calibration/metrics.ts: 10 equal-width bins). */
export const CALIBRATION_BINS = 10;

/**
 * The reliability bin of a logged score `p` in SQL, as the float32 behind it is binned by
 * worker/calibration/metrics.ts (`floor(p × 10)` of the served value): one comparison per edge k/10
 * against {@link float32Threshold}, so a score served just below an edge (0.699999988…, logged
 * 0.7) stays below it. Below 0 is bin 0, 1 and above bin 9, as there.
 */
export const CALIBRATION_BIN_SQL = (p: string) =>
  `(${Array.from({ length: CALIBRATION_BINS - 1 }, (_, k) => `(${p} >= ${float32Threshold((k + 1) / CALIBRATION_BINS)})`).join(" + ")})`;

/** The served block's logged score of decision `d` (scores are aligned with candidates). */
const SERVED_SCORE = (d: string) =>
  `(SELECT json_extract(${d}.scores, '$[' || c.key || ']') FROM json_each(${d}.candidates) c WHERE c.value = ${d}.chosen_block_id LIMIT 1)`;

/**
 * Attribution to agg_calibration of the events of the batch (?1) and of earlier events waiting
 * for a decision of the batch (?2): same selection as the other attribution folds, so it must run
 * before statements.ts marks the events attributed. Ranked, non-holdout decisions with a model.
 */
export const CALIBRATION_ATTRIBUTION_SQL = `INSERT INTO agg_calibration (day, model, bin, impressions, sum_p, clicks, conversions)
   SELECT day, model, ${CALIBRATION_BIN_SQL("p")},
     SUM(type = 'impression'), SUM(CASE WHEN type = 'impression' THEN p ELSE 0 END), SUM(type = 'click'), SUM(type = 'conversion')
   FROM (
     SELECT ${dayOf("d.time")} AS day, d.model_version AS model, e.type AS type, ${SERVED_SCORE("d")} AS p
     FROM events e JOIN decisions d ON d.decision_id = e.decision_id
     WHERE e.agg_attributed = 0 AND (e.id IN ${idsIn(1)} OR e.decision_id IN ${idsIn(2)})
       AND e.type IN ('impression', 'click', 'conversion') AND d.holdout = 0 AND d.reason = 'ranked' AND d.model_version IS NOT NULL
   ) WHERE p IS NOT NULL GROUP BY 1, 2, 3
   ON CONFLICT DO UPDATE SET impressions = impressions + excluded.impressions, sum_p = sum_p + excluded.sum_p,
     clicks = clicks + excluded.clicks, conversions = conversions + excluded.conversions`;
