/**
 * The adaptive model's state in D1 (migrations/0011_calibration_adaptive.sql) and its learning
 * step, run by the log consumer after each batch (worker/pipeline/wire.ts) and by the cron.
 *
 * Learning reads the decision log in time order from a cursor: a decision is learned from once
 * it is LABEL_DELAY_MS old (so its click or conversion has had time to arrive), if it was shown
 * (an impression, or a click/conversion, carries its id), its logged features cover the adaptive
 * feature list (worker/adaptive/features.ts columnsFrom: decisions served by the default model or
 * by the adaptive model itself — so it also learns while a shadow or only available), and it is
 * not a holdout.
 * Label: 1 when a click or a conversion carries its id, else 0. Each observation updates the
 * served block's posterior (worker/adaptive/posterior.ts).
 *
 * Exactly once: the cursor, the revision and the posteriors are written in one transaction,
 * guarded by the revision read at the start (optimistic concurrency): a concurrent learner that
 * loses writes nothing, and the next run starts from the winner's cursor. A decision that reaches
 * D1 after the cursor has passed its time, or an outcome later than LABEL_DELAY_MS, is not learned
 * from (documented limitation; the delay covers the queue's usual seconds).
 */
import { priorPosterior, updatePosterior, type Posterior } from "./posterior.ts";
import { adaptiveFeatureNames, columnsFrom, withIntercept } from "./features.ts";

/** How old a decision must be before it is labelled (ms): outcomes later than this are not learned. */
export const LABEL_DELAY_MS = 10 * 60_000;
/** Decisions read per learning step. */
export const LEARN_BATCH = 500;

/** The state as served: every block's posterior and the revision. */
export interface AdaptiveState {
  revision: number;
  blocks: Map<string, Posterior>;
  updatedAt: number | null;
  cursor: { time: number; decisionId: string };
}

interface BlockRow {
  block_id: string;
  mean: string;
  precision: string;
  n: number;
  positives: number;
}

interface ModelRow {
  revision: number;
  cursor_time: number;
  cursor_id: string;
  updated_at: number;
}

/** Reads the whole state (a few hundred blocks at most: one row each). */
export async function readAdaptiveState(db: D1Database, modelId: string): Promise<AdaptiveState> {
  const [model, blocks] = await db.batch<ModelRow | BlockRow>([
    db.prepare("SELECT revision, cursor_time, cursor_id, updated_at FROM adaptive_models WHERE model_id = ?").bind(modelId),
    db.prepare("SELECT block_id, mean, precision, n, positives FROM adaptive_blocks WHERE model_id = ?").bind(modelId),
  ]);
  const m = (model!.results as ModelRow[])[0];
  return {
    revision: m?.revision ?? 0,
    updatedAt: m?.updated_at ?? null,
    cursor: { time: m?.cursor_time ?? 0, decisionId: m?.cursor_id ?? "" },
    blocks: new Map(
      (blocks!.results as BlockRow[]).map((r) => [r.block_id, { mean: JSON.parse(r.mean), precision: JSON.parse(r.precision), n: r.n, positives: r.positives }]),
    ),
  };
}

interface DecisionRow {
  decision_id: string;
  time: number;
  chosen_block_id: string;
  candidates: string;
  features: string;
  feature_names: string;
  holdout: number;
  shown: number;
  y: number;
}

/** What one learning step did. */
export interface LearnResult {
  read: number;
  learned: number;
  positives: number;
  revision: number;
  /** False when a concurrent learner won (nothing written). */
  written: boolean;
}

export interface LearnOptions {
  now: number;
  labelDelayMs?: number;
  limit?: number;
}

/** One learning step (see the module comment). */
export async function learnFromLog(db: D1Database, modelId: string, options: LearnOptions): Promise<LearnResult> {
  const state = await readAdaptiveState(db, modelId);
  const until = options.now - (options.labelDelayMs ?? LABEL_DELAY_MS);
  const { results } = await db
    .prepare(
      `SELECT d.decision_id, d.time, d.holdout, d.chosen_block_id, d.candidates, d.features, d.feature_names,
         EXISTS (SELECT 1 FROM events e WHERE e.decision_id = d.decision_id AND e.type IN ('impression', 'click', 'conversion')) AS shown,
         EXISTS (SELECT 1 FROM events e WHERE e.decision_id = d.decision_id AND e.type IN ('click', 'conversion')) AS y
       FROM decisions d
       WHERE (d.time > ? OR (d.time = ? AND d.decision_id > ?)) AND d.time <= ?
       ORDER BY d.time, d.decision_id LIMIT ?`,
    )
    .bind(state.cursor.time, state.cursor.time, state.cursor.decisionId, until, options.limit ?? LEARN_BATCH)
    .all<DecisionRow>();
  if (!results.length) return { read: 0, learned: 0, positives: 0, revision: state.revision, written: false };

  const names = JSON.stringify(adaptiveFeatureNames());
  const dim = adaptiveFeatureNames().length + 1;
  const readers = new Map<string, ReturnType<typeof columnsFrom>>();
  const touched = new Map<string, Posterior>();
  let learned = 0;
  let positives = 0;
  for (const r of results) {
    if (r.holdout || !r.shown) continue;
    if (!readers.has(r.feature_names)) readers.set(r.feature_names, columnsFrom(JSON.parse(r.feature_names) as string[]));
    const read = readers.get(r.feature_names);
    if (!read) continue;
    const candidates = JSON.parse(r.candidates) as string[];
    const logged = (JSON.parse(r.features) as number[][])[candidates.indexOf(r.chosen_block_id)];
    if (!logged) continue;
    const row = read(logged);
    const y = r.y ? 1 : 0;
    const before = touched.get(r.chosen_block_id) ?? state.blocks.get(r.chosen_block_id) ?? priorPosterior(dim);
    touched.set(r.chosen_block_id, updatePosterior(before, withIntercept(row), y));
    learned++;
    positives += y;
  }
  const last = results.at(-1)!;
  const revision = state.revision + (learned ? 1 : 0);
  const writer = crypto.randomUUID();
  const statements = [
    db
      .prepare(
        `INSERT INTO adaptive_models (model_id, revision, features, cursor_time, cursor_id, writer, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (model_id) DO UPDATE SET revision = excluded.revision, features = excluded.features, cursor_time = excluded.cursor_time,
           cursor_id = excluded.cursor_id, writer = excluded.writer, updated_at = excluded.updated_at
         WHERE adaptive_models.revision = ? AND adaptive_models.cursor_time = ? AND adaptive_models.cursor_id = ?`,
      )
      .bind(modelId, revision, names, last.time, last.decision_id, writer, options.now, state.revision, state.cursor.time, state.cursor.decisionId),
    ...[...touched].map(([blockId, p]) =>
      db
        .prepare(
          `INSERT INTO adaptive_blocks (model_id, block_id, mean, precision, n, positives, revision, updated_at)
           SELECT ?, ?, ?, ?, ?, ?, ?, ? WHERE (SELECT writer FROM adaptive_models WHERE model_id = ?) = ?
           ON CONFLICT (model_id, block_id) DO UPDATE SET mean = excluded.mean, precision = excluded.precision, n = excluded.n,
             positives = excluded.positives, revision = excluded.revision, updated_at = excluded.updated_at`,
        )
        .bind(modelId, blockId, JSON.stringify(p.mean), JSON.stringify(p.precision), p.n, p.positives, revision, options.now, modelId, writer),
    ),
  ];
  const [head] = await db.batch(statements);
  const written = (head!.meta.changes ?? 0) > 0;
  return { read: results.length, learned: written ? learned : 0, positives: written ? positives : 0, revision: written ? revision : state.revision, written };
}

/** Runs learning steps until the log is caught up (at most `maxSteps`). */
export async function learnUntilCaughtUp(db: D1Database, modelId: string, options: LearnOptions & { maxSteps?: number }): Promise<LearnResult[]> {
  const out: LearnResult[] = [];
  for (let i = 0; i < (options.maxSteps ?? 10); i++) {
    const r = await learnFromLog(db, modelId, options);
    out.push(r);
    if (!r.written || r.read < (options.limit ?? LEARN_BATCH)) break;
  }
  return out;
}

/**
 * The pipeline's and the cron's learning step for the built-in adaptive model: catches up with
 * the log; never throws (a failure is logged, the cursor resumes next time).
 */
export async function learnAdaptiveQuietly(db: D1Database, modelId: string, now: number): Promise<void> {
  try {
    await learnUntilCaughtUp(db, modelId, { now });
  } catch (err) {
    console.error("adaptive model: learning step failed (resumes from its cursor next time):", err instanceof Error ? err.message : err);
  }
}
