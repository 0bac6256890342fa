/**
 * Journeys: a moment that says `onEntry: { nextAction: true }` starts one when an identified
 * customer enters it — the next outbound action is decided and scheduled for that moment at once
 * (worker/next-action/run.ts, the same path as `POST /v1/next-action` with `moment`), instead of
 * waiting for the site's backend to ask. Its exit rule then cancels what was scheduled, if it
 * fires first (worker/activation/moment-exit.ts). Anonymous visitors have no channel to reach, so
 * nothing starts for them. Guardrails, contact policy, holdout and kill switch apply as always.
 */
import { customerKeyOf } from "../identity/keys.ts";
import { servicesFromEnv } from "../middleware/init.ts";
import type { MomentEntryListener } from "../moments/exits.ts";
import { runNextAction } from "../next-action/run.ts";
import { cancelOnMomentExit } from "../activation/moment-exit.ts";
import type { Moment, MomentsConfig } from "../moments/schema.ts";

/** A configuration of this one moment (membership is read per moment). */
const momentsConfigOf = (moment: Moment): MomentsConfig => ({ moments: [moment] }) as MomentsConfig;


/** The entry listener worker/index.ts registers (`onMomentEntry`). */
export const startJourneyOnEntry: MomentEntryListener = async (env, key, moment, at) => {
  const customerKey = customerKeyOf(key);
  if (!moment.onEntry?.nextAction || customerKey === undefined) return;
  // Work the decision defers (its log record, population counts) is awaited here, inside the
  // object's waitUntil that runs this listener.
  const deferred: Promise<unknown>[] = [];
  const defer = (work: Promise<unknown>) => void deferred.push(work);
  // The moment's actions and KPI come from the configuration that was entered, not a later read.
  const call = { customerKey, moment: moment.id, momentActions: moment.actions, momentKpi: moment.kpi, triggerAt: at };
  const answer = await runNextAction(env, servicesFromEnv(env, defer), call, defer);
  await Promise.allSettled(deferred);
  // The customer may have left the moment while this decision ran; that exit's cancel then found
  // nothing to cancel. Checked after scheduling, so an exit after this check finds the action.
  if (answer.scheduled) {
    const object = env.VISITOR.get(env.VISITOR.idFromName(key));
    const still = (await object.momentMemberships(momentsConfigOf(moment))).some((m) => m.id === moment.id);
    // As the exit would have: cancelled with reason moment_exit, its contact released.
    if (!still) await cancelOnMomentExit(env, key, moment.id, at);
  }
};
