import type { LoggedDecision } from "../export/line.ts";
import type { LoggedFilter } from "../export/query.ts";
import { catchUpLake } from "./flush.ts";
import { lakeLoggedDecisions, type LakeReadOptions } from "./read.ts";

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
  await catchUpLake(env.DB, env.LAKE, opts.now);
  yield* lakeLoggedDecisions(env.LAKE, filter, opts);
}
