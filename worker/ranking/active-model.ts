import defaultModel from "../../models/default.onnx";
import { onnxScorer, type Scorer } from "./scorer.ts";

/** Supplies the scorer of the model that currently ranks. */
export interface ScorerProvider {
  active(): Promise<Scorer>;
}

let defaultScorer: Promise<Scorer> | undefined;

/**
 * The default model shipped in models/default.onnx, loaded once per isolate and reused by
 * every request (creating an ORT session costs milliseconds; running one costs microseconds).
 */
export function defaultModelProvider(): ScorerProvider {
  return {
    active() {
      if (!defaultScorer) {
        defaultScorer = onnxScorer(new Uint8Array(defaultModel));
        // A failed load is retried by the next request instead of being cached forever.
        defaultScorer.catch(() => (defaultScorer = undefined));
      }
      return defaultScorer;
    },
  };
}
