/**
 * A finding of a governance check: what is wrong, about what, how badly, with its figures.
 * Declared here for drift; h/incidents declares the same shape in worker/incidents/finding.ts
 * (to be unified when the branches meet).
 */
export interface Finding {
  /** e.g. `drift.feature`. */
  kind: string;
  /** What it is about, e.g. `<model>/<feature>`. */
  subject: string;
  severity: "warn" | "alert";
  /** The numbers behind it (flat: numbers, strings or null). */
  figures: Record<string, number | string | null>;
  /** The model version concerned. */
  model?: string;
}
