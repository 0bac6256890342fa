import { float32Shortener, float32Row } from "../audit/float32.ts";
import type { LoggedDecision } from "./line.ts";

/** Which logged decisions to read. */
export interface LoggedFilter {
  from: number;
  to: number;
  slot?: string;
  modelVersion?: string;
  /** Holdout decisions served the default block with certainty; evaluation leaves them out. */
  includeHoldout: boolean;
}

/** Position after the last decision read (keyset pagination in time order). */
export interface LoggedCursor {
  time: number;
  decisionId: string;
}

interface Row {
  decision_id: string;
  time: number;
  visitor_key: string;
  slot: string;
  model_version: string | null;
  feature_names: string;
  candidates: string;
  features: string;
  scores: string;
  chosen_block_id: string;
  propensity: number | null;
  holdout: number;
  outcomes: string;
}

// Outcomes per decision: events that carry its id *and* come from the same visitor (an event
// naming someone else's decision says nothing about that decision). Flags, plus the value sum.
const OUTCOMES = `(SELECT json_object(
    'impression', COALESCE(MAX(e.type = 'impression'), 0),
    'click', COALESCE(MAX(e.type = 'click'), 0),
    'conversion', COALESCE(MAX(e.type = 'conversion'), 0),
    'value', COALESCE(SUM(CASE WHEN e.type = 'conversion' THEN e.value END), 0))
  FROM events e WHERE e.decision_id = d.decision_id AND e.visitor_key = d.visitor_key)`;

function toLogged(r: Row): LoggedDecision {
  const candidates: string[] = JSON.parse(r.candidates);
  // As the lake reader gives them (worker/lake/read.ts): the float32 values, in shortest form.
  const short = float32Shortener();
  const features: number[][] = (JSON.parse(r.features) as number[][]).map((row) => float32Row(row, short));
  const scores: (number | null)[] = float32Row(JSON.parse(r.scores) as (number | null)[], short);
  const outcomes = JSON.parse(r.outcomes) as LoggedDecision["outcomes"];
  return {
    decisionId: r.decision_id,
    time: r.time,
    visitorKey: r.visitor_key,
    slot: r.slot,
    modelVersion: r.model_version,
    featureNames: JSON.parse(r.feature_names),
    candidates: candidates.map((blockId, i) => ({ blockId, features: features[i] ?? [], score: scores[i] ?? null })),
    chosenBlockId: r.chosen_block_id,
    propensity: r.propensity,
    holdout: r.holdout === 1,
    outcomes: {
      impression: outcomes.impression ? 1 : 0,
      click: outcomes.click ? 1 : 0,
      conversion: outcomes.conversion ? 1 : 0,
      value: Number(outcomes.value) || 0,
    },
  };
}

/** Reads up to `limit` logged decisions after `cursor`, oldest first, with their outcomes. */
export async function readLoggedDecisions(db: D1Database, f: LoggedFilter, cursor: LoggedCursor | null, limit: number): Promise<LoggedDecision[]> {
  const where = ["d.time >= ?", "d.time < ?"];
  const args: unknown[] = [f.from, f.to];
  if (f.slot) {
    where.push("d.slot = ?");
    args.push(f.slot);
  }
  if (f.modelVersion) {
    where.push("d.model_version = ?");
    args.push(f.modelVersion);
  }
  if (!f.includeHoldout) where.push("d.holdout = 0");
  if (cursor) {
    where.push("(d.time > ? OR (d.time = ? AND d.decision_id > ?))");
    args.push(cursor.time, cursor.time, cursor.decisionId);
  }
  const sql =
    "SELECT d.decision_id, d.time, d.visitor_key, d.slot, d.model_version, d.feature_names, d.candidates, d.features, d.scores, " +
    `d.chosen_block_id, d.propensity, d.holdout, ${OUTCOMES} AS outcomes FROM decisions d WHERE ${where.join(" AND ")} ` +
    "ORDER BY d.time, d.decision_id LIMIT ?";
  const { results } = await db.prepare(sql).bind(...args, limit).all<Row>();
  return results.map(toLogged);
}

/** Iterates over every matching logged decision, a page at a time. */
export async function* loggedDecisions(db: D1Database, f: LoggedFilter, pageSize = 200): AsyncGenerator<LoggedDecision[]> {
  let cursor: LoggedCursor | null = null;
  for (;;) {
    const page = await readLoggedDecisions(db, f, cursor, pageSize);
    if (page.length) yield page;
    if (page.length < pageSize) return;
    const last = page[page.length - 1]!;
    cursor = { time: last.time, decisionId: last.decisionId };
  }
}
