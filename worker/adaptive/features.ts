/**
 * The adaptive model's feature list: for now the 17 features of the catalog
 * (worker/ranking/features.ts CATALOG_FEATURE_NAMES: v1's 16 and `block_affinity_log`). Behind
 * one function so features a manifest declares (issue 14 item 1) can plug in later without
 * touching the learner.
 */
import { CATALOG_ADDITIONS, CATALOG_FEATURE_NAMES } from "../ranking/features.ts";

/** Feature names of the adaptive model, in column order (the intercept is not one of them). */
export function adaptiveFeatureNames(): readonly string[] {
  return CATALOG_FEATURE_NAMES;
}

/**
 * Reads a logged decision's features into the adaptive model's columns, by name: `null` when it
 * lacks a v1 feature (it cannot be learned from). A missing catalog addition counts as 0 — its
 * value whenever the site sends no such signal — so decisions of the default model, which
 * predates the additions, still teach the adaptive model (documented approximation: a site that
 * sends `affinity.<blockId>` should let the adaptive model learn from its own decisions).
 */
export function columnsFrom(loggedNames: readonly string[]): ((row: readonly number[]) => number[]) | null {
  const index = adaptiveFeatureNames().map((n) => loggedNames.indexOf(n));
  const ok = index.every((i, k) => i >= 0 || Object.hasOwn(CATALOG_ADDITIONS, adaptiveFeatureNames()[k]!));
  return ok ? (row) => index.map((i) => (i >= 0 ? (row[i] ?? 0) : 0)) : null;
}

/** The learner's coordinates for one candidate: a constant 1 (the intercept), then its features. */
export function withIntercept(row: ArrayLike<number>): Float64Array {
  const x = new Float64Array(row.length + 1);
  x[0] = 1;
  for (let i = 0; i < row.length; i++) x[i + 1] = row[i]!;
  return x;
}
