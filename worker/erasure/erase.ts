import { eraseVisitorExposures, eraseVisitorOutcomes } from "../aggregates/erase.ts";
import { eraseVisitorDecisions } from "../audit/query.ts";
import { eraseVisitorEvents } from "../events/store.ts";
import { requestLakeErasure } from "../lake/erase.ts";
import { visitorKey } from "../visitor/key.ts";

/** What an erasure removed, per store. */
export interface ErasureResult {
  visitorKey: string;
  removed: { events: number; decisions: number; visitorState: number };
}

/** The stores a visitor's data lives in. */
export interface ErasureTargets {
  events(visitorKey: string): Promise<number>;
  decisions(visitorKey: string): Promise<number>;
  visitorState(visitorKey: string): Promise<number>;
}

/**
 * The production stores: D1 tables, the visitor-level aggregates (they go with the raw rows they
 * were folded from; counts report the raw rows), the visitor's Durable Object; the lake's copies
 * are queued for the cron's rewrite pass (worker/lake/erase.ts) and counted when it runs.
 */
export function erasureTargets(env: Pick<Env, "DB" | "VISITOR">): ErasureTargets {
  return {
    events: async (key) => {
      await requestLakeErasure(env.DB, key, "events", Date.now());
      await eraseVisitorOutcomes(env.DB, key);
      return eraseVisitorEvents(env.DB, key);
    },
    decisions: async (key) => {
      await requestLakeErasure(env.DB, key, "decisions", Date.now());
      await eraseVisitorExposures(env.DB, key);
      return eraseVisitorDecisions(env.DB, key);
    },
    visitorState: async (key) => (await env.VISITOR.get(env.VISITOR.idFromName(key)).erase()).records,
  };
}

/**
 * Erases everything stored about a visitor (right to erasure). The three stores are cleared
 * independently and all of them are attempted; if one fails the error is raised after the
 * others are done, so a retry finishes the job (each erase is idempotent).
 */
export async function eraseVisitor(visitorId: string, targets: ErasureTargets): Promise<ErasureResult> {
  return eraseVisitorKey(await visitorKey(visitorId), targets);
}

/** `eraseVisitor` by pseudonymous visitor key (identity erases every key linked to a customer). */
export async function eraseVisitorKey(key: string, targets: ErasureTargets): Promise<ErasureResult> {
  const [events, decisions, visitorState] = await Promise.allSettled([targets.events(key), targets.decisions(key), targets.visitorState(key)]);
  const failed = [events, decisions, visitorState].find((r) => r.status === "rejected");
  if (failed) throw failed.reason;
  const value = (r: PromiseSettledResult<number>) => (r.status === "fulfilled" ? r.value : 0);
  return { visitorKey: key, removed: { events: value(events), decisions: value(decisions), visitorState: value(visitorState) } };
}
