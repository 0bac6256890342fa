/**
 * The adaptive model's feature list: for now the 17 features of the v1 catalog
 * (worker/ranking/features.ts FEATURE_NAMES), so every decision logged by the default model or any
 * model on the same list is something it can learn from. Behind one function so features a
 * manifest declares (issue 14 item 1) can plug in later without touching the learner.
 */
import { FEATURE_NAMES } from "../ranking/features.ts";

/** Feature names of the adaptive model, in column order (the intercept is not one of them). */
export function adaptiveFeatureNames(): readonly string[] {
  return FEATURE_NAMES;
}

/** The learner's coordinates for one candidate: a constant 1 (the intercept), then its features. */
export function withIntercept(row: ArrayLike<number>): Float64Array {
  const x = new Float64Array(row.length + 1);
  x[0] = 1;
  for (let i = 0; i < row.length; i++) x[i + 1] = row[i]!;
  return x;
}
