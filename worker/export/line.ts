/**
 * One logged decision with its outcomes: the line format of the training export (JSON Lines,
 * read by the reference trainer) and the input of off-policy evaluation. Field names and order
 * are a contract with the trainer; add fields at the end, never rename.
 */

/** One candidate of a logged decision, with the features the serving model saw. */
export interface LoggedCandidate {
  blockId: string;
  /** Values in the order of the decision's `featureNames`; empty when no model scored it. */
  features: number[];
  /** The serving model's score; null when no model scored the decision (holdout, fallback). */
  score: number | null;
}

/** Outcomes attributed to the decision (events carrying its decisionId). */
export interface Outcomes {
  /** 1 when at least one event of the type was recorded, else 0. */
  impression: 0 | 1;
  click: 0 | 1;
  conversion: 0 | 1;
  /** Sum of the conversions' values. */
  value: number;
}

/** One line of the export. */
export interface LoggedDecision {
  decisionId: string;
  time: number;
  visitorKey: string;
  slot: string;
  modelVersion: string | null;
  featureNames: string[];
  candidates: LoggedCandidate[];
  chosenBlockId: string;
  /** Probability with which the logging policy chose `chosenBlockId`; null when unknown. */
  propensity: number | null;
  holdout: boolean;
  outcomes: Outcomes;
}

/** Serialises a decision as one JSON Lines line (with its newline), keys in contract order. */
export function toLine(d: LoggedDecision): string {
  const ordered: LoggedDecision = {
    decisionId: d.decisionId,
    time: d.time,
    visitorKey: d.visitorKey,
    slot: d.slot,
    modelVersion: d.modelVersion,
    featureNames: d.featureNames,
    candidates: d.candidates.map((c) => ({ blockId: c.blockId, features: c.features, score: c.score })),
    chosenBlockId: d.chosenBlockId,
    propensity: d.propensity,
    holdout: d.holdout,
    outcomes: { impression: d.outcomes.impression, click: d.outcomes.click, conversion: d.outcomes.conversion, value: d.outcomes.value },
  };
  return JSON.stringify(ordered) + "\n";
}
