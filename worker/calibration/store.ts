/**
 * Calibrations in D1 (migrations/0011_calibration_adaptive.sql): numbered per model (1, 2, …),
 * the newest active one applied at serving. Decisions it serves record `<version>+cal<n>`.
 */
import type { CalibrationMap } from "./fit.ts";

/** One stored calibration. */
export interface StoredCalibration {
  modelId: string;
  n: number;
  method: CalibrationMap["method"];
  map: CalibrationMap;
  /** The window and counts it was fitted on, and the metrics before and after (route's answer). */
  fitted: Record<string, unknown>;
  active: boolean;
  createdBy: string;
  createdAt: number;
}

interface Row {
  model_id: string;
  n: number;
  method: string;
  map: string;
  fitted: string;
  active: number;
  created_by: string;
  created_at: number;
}

const fromRow = (r: Row): StoredCalibration => ({
  modelId: r.model_id,
  n: r.n,
  method: r.method as CalibrationMap["method"],
  map: JSON.parse(r.map),
  fitted: JSON.parse(r.fitted),
  active: r.active === 1,
  createdBy: r.created_by,
  createdAt: r.created_at,
});

/** `<version>+cal<n>`: the modelVersion of decisions served through calibration n. */
export const calibratedVersion = (version: string, n: number) => `${version}+cal${n}`;

/** Every calibration of a model, newest first. */
export async function calibrationsOf(db: D1Database, modelId: string): Promise<StoredCalibration[]> {
  const { results } = await db.prepare("SELECT * FROM model_calibrations WHERE model_id = ? ORDER BY n DESC LIMIT 100").bind(modelId).all<Row>();
  return results.map(fromRow);
}

/** The calibration applied to each model: its newest active one. */
export async function activeCalibrations(db: D1Database): Promise<Map<string, StoredCalibration>> {
  const { results } = await db
    .prepare("SELECT c.* FROM model_calibrations c WHERE c.active = 1 AND c.n = (SELECT MAX(n) FROM model_calibrations x WHERE x.model_id = c.model_id AND x.active = 1)")
    .all<Row>();
  return new Map(results.map((r) => [r.model_id, fromRow(r)]));
}

/** Stores a new calibration as number max + 1 (retried once if another request took it). */
export async function insertCalibration(db: D1Database, c: Omit<StoredCalibration, "n" | "active">): Promise<StoredCalibration> {
  for (let attempt = 0; ; attempt++) {
    const row = await db.prepare("SELECT COALESCE(MAX(n), 0) + 1 AS n FROM model_calibrations WHERE model_id = ?").bind(c.modelId).first<{ n: number }>();
    const n = row!.n;
    try {
      await db
        .prepare("INSERT INTO model_calibrations (model_id, n, method, map, fitted, active, created_by, created_at) VALUES (?, ?, ?, ?, ?, 1, ?, ?)")
        .bind(c.modelId, n, c.method, JSON.stringify(c.map), JSON.stringify(c.fitted), c.createdBy, c.createdAt)
        .run();
      return { ...c, n, active: true };
    } catch (err) {
      if (attempt > 0 || !/UNIQUE|PRIMARY KEY|constraint/i.test(String(err))) throw err;
    }
  }
}

/** Stops applying any calibration of the model (history kept). True when one was active. */
export async function deactivateCalibrations(db: D1Database, modelId: string): Promise<boolean> {
  const r = await db.prepare("UPDATE model_calibrations SET active = 0 WHERE model_id = ? AND active = 1").bind(modelId).run();
  return (r.meta.changes ?? 0) > 0;
}
