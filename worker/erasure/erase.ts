import { eraseVisitorExposures, eraseVisitorOutcomes } from "../aggregates/erase.ts";
import { eraseVisitorDecisions } from "../audit/query.ts";
import { eraseVisitorEvents } from "../events/store.ts";
import { eraseDeviceLinks } from "../identity/devices.ts";
import { outboundRecount } from "../moments/outbound-aggregates.ts";
import { requestLakeErasure } from "../lake/erase.ts";
import { visitorKey } from "../visitor/key.ts";
import { eraseFromGuardrails, type GuardrailErasure } from "./guardrails.ts";

/** A store erasure could not clear (or kept on purpose), and why. */
export interface NotRemoved {
  store: "events" | "decisions" | "visitorState" | "guardrails";
  reason: string;
}

/**
 * What an erasure removed, per store, and what it did not. `complete` is false when a store
 * failed: `notRemoved` says which and why, and the same request again finishes the job (every
 * step is idempotent). A keyed id kept on a suppression list is listed in `notRemoved` but does not
 * make the erasure incomplete.
 */
export interface ErasureResult {
  visitorKey: string;
  complete: boolean;
  removed: { events: number; decisions: number; visitorState: number; guardrailVersions: number };
  notRemoved: NotRemoved[];
}

/** The stores a visitor's data lives in. */
export interface ErasureTargets {
  events(visitorKey: string): Promise<number>;
  decisions(visitorKey: string): Promise<number>;
  visitorState(visitorKey: string): Promise<number>;
  /** The guardrail configuration (suppression lists); optional for callers that only clear data. */
  guardrails?(visitorId: string, visitorKey: string): Promise<GuardrailErasure>;
}

/**
 * The production stores: D1 tables, the visitor-level aggregates (they go with the raw rows they
 * were folded from; counts report the raw rows), the visitor's Durable Object (and the D1 copy of
 * its identity links, worker/identity/devices.ts), the guardrail
 * configuration; the lake's copies are queued for the cron's rewrite pass (worker/lake/erase.ts)
 * and counted when it runs. That request (`lake_erasures`, written before the rows are deleted)
 * is also what the log consumer checks to drop the visitor's records still in the queue
 * (worker/pipeline/consume.ts), so `complete` holds for them too.
 */
export function erasureTargets(env: Pick<Env, "DB" | "VISITOR" | "CONFIG">): Required<ErasureTargets> {
  return {
    events: async (key) => {
      await requestLakeErasure(env.DB, key, "events", Date.now());
      await eraseVisitorOutcomes(env.DB, key);
      const removed = await eraseVisitorEvents(env.DB, key);
      // The outbound lift by moment of the customer(s) this device is linked to counted these
      // events under the customer's key: recounted without them (worker/moments/outbound-aggregates.ts).
      await outboundRecount(env.DB, { deviceKey: key }).run();
      return removed;
    },
    decisions: async (key) => {
      await requestLakeErasure(env.DB, key, "decisions", Date.now());
      await eraseVisitorExposures(env.DB, key);
      return eraseVisitorDecisions(env.DB, key);
    },
    visitorState: async (key) => {
      const { records } = await env.VISITOR.get(env.VISITOR.idFromName(key)).erase();
      // The link lived in the object just erased; its D1 copy (as device or as customer) goes with it.
      await eraseDeviceLinks(env.DB, key);
      return records;
    },
    guardrails: (id, key) => eraseFromGuardrails(env, id, key),
  };
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err)).slice(0, 300);

/**
 * Erases everything stored about a visitor (right to erasure). The stores are cleared
 * independently and all of them are attempted; what failed is reported with its reason.
 */
export async function eraseVisitor(visitorId: string, targets: ErasureTargets): Promise<ErasureResult> {
  return eraseVisitorKey(await visitorKey(visitorId), targets, visitorId);
}

/**
 * `eraseVisitor` by pseudonymous visitor key (identity erases every key linked to a customer).
 * Without the raw `visitorId`, guardrail versions are not searched for it (they hold keys since
 * suppression lists were keyed).
 */
export async function eraseVisitorKey(key: string, targets: ErasureTargets, visitorId?: string): Promise<ErasureResult> {
  const [events, decisions, visitorState, guardrails] = await Promise.allSettled([
    targets.events(key),
    targets.decisions(key),
    targets.visitorState(key),
    targets.guardrails && visitorId !== undefined ? targets.guardrails(visitorId, key) : Promise.resolve({ rewritten: 0, listedIn: [] }),
  ]);
  const notRemoved: NotRemoved[] = [];
  const count = (store: NotRemoved["store"], r: PromiseSettledResult<number>) => {
    if (r.status === "fulfilled") return r.value;
    notRemoved.push({ store, reason: `failed: ${message(r.reason)}; send the request again to finish` });
    return 0;
  };
  const removed = { events: count("events", events), decisions: count("decisions", decisions), visitorState: count("visitorState", visitorState), guardrailVersions: 0 };
  const complete = notRemoved.length === 0 && guardrails.status === "fulfilled";
  if (guardrails.status === "rejected") notRemoved.push({ store: "guardrails", reason: `failed: ${message(guardrails.reason)}; send the request again to finish` });
  else {
    removed.guardrailVersions = guardrails.value.rewritten;
    if (guardrails.value.listedIn.length) {
      notRemoved.push({
        store: "guardrails",
        reason: `kept: the visitor's key is on the suppression list(s) ${guardrails.value.listedIn.join(", ")}, so they keep not being shown what they were excluded from; remove it from visitorKeys with PATCH /admin/guardrails to lift the suppression`,
      });
    }
  }
  return { visitorKey: key, complete, removed, notRemoved };
}
