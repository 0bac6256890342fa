import defaultModel from "../../models/default.onnx";
import { onnxScorer, type Scorer } from "./scorer.ts";

/** Which models score one visitor's decision. */
export interface ModelSelection {
  /** The model whose ranking is served. */
  serving: Scorer;
  /** `champion`, or `challenger` for the visitors of a challenger split. */
  arm: "champion" | "challenger";
  /** Models scored on every decision, their choice logged, never served. */
  shadows: Scorer[];
  /**
   * The serving models of the other outcomes (conversion, churn, …), one per outcome, whose
   * propensities arbitration combines with the serving model's (worker/arbitration/). Absent
   * or empty when only a click model serves.
   */
  outcomes?: OutcomeModel[];
}

/** The model serving one non-click outcome for this visitor. */
export interface OutcomeModel {
  outcome: string;
  serving: Scorer;
  arm: "champion" | "challenger";
}

/** Supplies the models for a visitor's decision. */
export interface ScorerProvider {
  select(visitorId: string): Promise<ModelSelection>;
}

let defaultScorer: Promise<Scorer> | undefined;

/** The default model shipped in models/default.onnx, loaded once per isolate. */
export function loadDefaultScorer(): Promise<Scorer> {
  if (!defaultScorer) {
    defaultScorer = onnxScorer(new Uint8Array(defaultModel));
    // A failed load is retried by the next request instead of being cached forever.
    defaultScorer.catch(() => (defaultScorer = undefined));
  }
  return defaultScorer;
}

/**
 * Serves the default model to everyone (creating an ORT session costs milliseconds; running one
 * costs microseconds, so the session is reused by every request of the isolate).
 */
export function defaultModelProvider(): ScorerProvider {
  return {
    async select() {
      return { serving: await loadDefaultScorer(), arm: "champion", shadows: [] };
    },
  };
}
