import type { LoggedDecision } from "../export/line.ts";
import type { LoggedFilter } from "../export/query.ts";
import { runLakeErasures } from "./erase.ts";
import { catchUpLake } from "./flush.ts";
import { lakeLoggedDecisions, type LakeReadOptions } from "./read.ts";

/**
 * Makes the lake ready to be read: catches it up with D1 (a decision logged a moment ago is
 * included) and applies pending visitor erasures first, so no reader ever sees an erased visitor
 * while the daily cron has not yet run. With no erasure pending that is one D1 query.
 */
export async function prepareLakeForReading(env: Pick<Env, "DB" | "LAKE">, now: number): Promise<void> {
  await catchUpLake(env.DB, env.LAKE, now);
  await runLakeErasures(env.DB, env.LAKE, { now });
}

/**
 * Logged decisions with outcomes for export and evaluation, read from the lake after catching it
 * up with D1 (so a decision logged a moment ago is included), a page at a time.
 *
 * @param env the D1 database (for the catch-up flush) and the lake bucket
 * @param now clock (ms) of the catch-up flush's ledger entries
 */
export async function* loggedDecisionsFromLake(
  env: Pick<Env, "DB" | "LAKE">,
  filter: LoggedFilter,
  opts: LakeReadOptions & { now: number },
): AsyncGenerator<LoggedDecision[]> {
  await prepareLakeForReading(env, opts.now);
  yield* lakeLoggedDecisions(env.LAKE, filter, opts);
}
