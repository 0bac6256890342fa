/**
 * Drift findings for the incident checks: for every model × kind × subject, the newest judged
 * day (status other than `insufficient`) among today and yesterday (UTC) in the drift series; a
 * `warn` or `alert` there is a finding. Reads only drift_series (computeDrift writes it).
 */
import { utcDay } from "../aggregates/sql.ts";
import type { Finding, FindingReport, FindingSource } from "../incidents/finding.ts";
import { computeDrift } from "./compute.ts";
import { driftThresholds } from "./thresholds.ts";
import { shiftDay } from "./outcomes.ts";
import { readSeries, type DriftKind, type DriftPoint } from "./series.ts";

/** The finding kinds drift reports, one per series kind. */
export const DRIFT_FINDING_KINDS = ["drift.feature", "drift.score", "drift.outcome", "drift.calibration"] as const;

const KIND: Record<DriftKind, (typeof DRIFT_FINDING_KINDS)[number]> = {
  feature: "drift.feature",
  score: "drift.score",
  outcome: "drift.outcome",
  calibration: "drift.calibration",
};

/** `<model>/<feature>` for features, `<model>` for the score, `<model>/<outcome>` for outcomes and calibration. */
const subjectOf = (p: DriftPoint) => (p.kind === "score" ? p.model : `${p.model}/${p.subject}`);

/** Flat figures (arrays such as calibration bins are left out). */
function flat(p: DriftPoint): Record<string, number | string | null> {
  const out: Record<string, number | string | null> = { day: p.day, baseline: p.baseline, n: p.n, value: p.value };
  for (const [k, v] of Object.entries(p.figures)) if (v === null || typeof v === "number" || typeof v === "string") out[k] = v;
  return out;
}

/** The drift findings at `now` (ms); `kinds` lists every kind this check can report. */
export async function driftFindings(db: D1Database, now: number): Promise<FindingReport> {
  const today = utcDay(now);
  const points = await readSeries(db, { from: shiftDay(today, -1), to: today });
  const newest = new Map<string, DriftPoint>();
  for (const p of points) {
    if (p.status === "insufficient") continue;
    const id = `${p.model}\u0000${p.kind}\u0000${p.subject}`;
    const seen = newest.get(id);
    if (!seen || seen.day < p.day) newest.set(id, p);
  }
  const findings: Finding[] = [];
  for (const p of newest.values()) {
    if (p.status !== "warn" && p.status !== "alert") continue;
    findings.push({ kind: KIND[p.kind], subject: subjectOf(p), severity: p.status, figures: flat(p), model: p.model });
  }
  return { kinds: [...DRIFT_FINDING_KINDS], findings };
}

/**
 * Drift as a source of the governance run (worker/incidents/governance.ts): brings the daily
 * series up to `now` (idempotent upserts from the day before the newest computed day), then reports
 * its findings. If computing fails the source throws, and the run leaves drift incidents as they are.
 */
export const driftSource: FindingSource = async (env, now) => {
  // Judged by the thresholds the Worker is configured with (DRIFT_* vars), as GET /admin/drift shows them.
  await computeDrift(env.DB, now, { thresholds: driftThresholds(env) });
  return driftFindings(env.DB, now);
};
