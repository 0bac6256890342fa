/**
 * Outbound actions follow their moment: when a customer leaves a moment (its exit rule fired, e.g.
 * they converted), the actions scheduled for that moment and not yet sent are cancelled, reason
 * `moment_exit`. Registered with worker/moments/exits.ts by worker/index.ts.
 */
import { customerKeyOf } from "../identity/keys.ts";
import type { MomentExitListener } from "../moments/exits.ts";
import { cancelActions } from "./schedule.ts";

/**
 * Cancels a customer's pending actions of the moment left; anonymous visitors have none. A
 * cancelled message was never sent, so its contact is released: it no longer counts against the
 * contact policy or as a send of its hour (worker/next-action/contact-store.ts).
 */
export const cancelOnMomentExit: MomentExitListener = async (env, key, momentId) => {
  const customerKey = customerKeyOf(key);
  if (customerKey === undefined) return;
  const { cancelled } = await cancelActions(env, customerKey, { moment: momentId, reason: "moment_exit" });
  const object = env.VISITOR.get(env.VISITOR.idFromName(key));
  for (const decisionId of cancelled) await object.releaseContact(decisionId);
};
