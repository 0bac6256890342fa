/**
 * A finding: one check's verdict that something is wrong right now. The governance run
 * (./governance.ts) gathers findings from the operational checks (./checks.ts) and from extra
 * sources (drift, worker/drift/ on its own branch), and reconciles them with the incidents in D1
 * (./store.ts): a finding opens or updates the incident of its (kind, subject); an incident whose
 * kind was checked and that is no longer found is resolved.
 */

/** One problem found by a check. */
export interface Finding {
  /** What was checked, dotted: `ops.fallback_rate`, `drift.feature`, … */
  kind: string;
  /** What it is about within the kind: a rule's reason code, an experiment, `model:feature`, … */
  subject: string;
  severity: "warn" | "alert";
  /** The numbers behind the verdict (rates, counts, thresholds, p-values), kept with the incident. */
  figures: Record<string, number | string | null>;
  /** The model version the finding is about, when it is about one (auto-protection reads it). */
  model?: string;
}

/**
 * What a source checked and found. `kinds` lists every kind it evaluated this run, found or not:
 * only incidents of these kinds can be resolved by the run (a source that did not run resolves
 * nothing).
 */
export interface FindingReport {
  kinds: string[];
  findings: Finding[];
}

/** A source of findings, called by the cron with the bindings and the run's time (ms). */
export type FindingSource = (env: Env, now: number) => Promise<FindingReport>;
