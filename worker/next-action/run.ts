/**
 * One next-action decision for a customer, scheduled: what `POST /v1/next-action` does after its
 * checks, and what a moment with `onEntry.nextAction` does when a customer enters it
 * (worker/journeys/). Kill switch, holdout, guardrails, channel, send time, contact policy,
 * scheduling in the customer's Outbox and the log record — one path for both callers.
 */
import { HASH_VERSION } from "../holdout/hash.ts";
import { isHeldOut } from "../holdout/assign.ts";
import { customerObject } from "../identity/keys.ts";
import { visitorKey } from "../visitor/key.ts";
import type { Services } from "../services.ts";
import { populationCounts, recordPopulationSend } from "./channel-state.ts";
import { decideNextAction } from "./decide.ts";
import { nextActionAnswer, nextActionRecord } from "./log.ts";

/** What to decide: a keyed customer (worker/identity/keys.ts), an optional moment, when it was triggered (ms). */
export interface NextActionCall {
  customerKey: string;
  moment?: string;
  /** The moment's own `actions` when the caller has its configuration (a journey); else read from the moments store. */
  momentActions?: readonly string[];
  /** The moment's KPI when the caller has its configuration (a journey); else read from the moments store. */
  momentKpi?: { event: string; windowSeconds: number };
  triggerAt: number;
}

/** The answer `POST /v1/next-action` sends (worker/next-action/log.ts `nextActionAnswer`), or the kill switch's. */
export type NextActionAnswer = ReturnType<typeof nextActionAnswer> | ReturnType<typeof killedAnswer>;

/** The answer while the kill switch is on: the usual shape, no action, reason `kill_switch`. */
function killedAnswer(decisionId: string, moment: string | undefined) {
  return {
    decisionId, channel: null, actionId: null, contentRef: null, sendAt: null, timeZone: null, moment: moment ?? null, holdout: false, scheduled: false, sendTime: null,
    propensities: { channels: {}, actions: {}, action: null, hour: null, chosen: null }, modelVersion: null, reasons: ["kill_switch"], excluded: [],
  };
}

/** A chosen web action: answered, not scheduled (no webhook delivers to a page). */
class WebAction extends Error {}

/**
 * Decides, reserves under the contact policy, schedules and logs one next action.
 * `defer` runs work after the answer (`ctx.waitUntil`). Throws only what the stores throw.
 */
export async function runNextAction(env: Env, services: Services, call: NextActionCall, defer: (work: Promise<unknown>) => void): Promise<NextActionAnswer> {
  const now = services.now();
  const { customerKey: key, moment, triggerAt } = call;
  // The kill switch (worker/kill-switch/) stops outbound decisions with the web slots: no model,
  // nothing reserved or scheduled.
  if ((await services.killSwitch?.())?.on) return killedAnswer(services.newId(), moment);
  const object = env.VISITOR.get(env.VISITOR.idFromName(customerObject(key)));
  const [version, state, population, moments] = await Promise.all([
    services.actions.current(),
    object.outboundState(),
    populationCounts(env.DB, now),
    moment && (!call.momentActions || !call.momentKpi) ? services.moments?.current() : undefined,
  ]);
  // The actions the moment's configuration lists are eligible in it too (worker/moments/schema.ts).
  const configured = moment ? moments?.config.moments.find((m) => m.id === moment) : undefined;
  const momentActions = call.momentActions ?? configured?.actions;
  // Recorded with the decision, as web decisions record theirs, for the outbound lift by moment.
  const momentKpi = call.momentKpi ?? configured?.kpi;
  const decisionId = services.newId();
  const holdout = isHeldOut(key, services.holdout);
  const result = await decideNextAction(
    { decisionId, customerKey: key, ...(moment ? { moment } : {}), ...(momentActions ? { momentActions } : {}), triggerAt, now, catalog: version.catalog, traits: state.traits, account: state.account, counts: state.counts, population, holdout },
    { scorer: async () => (await services.models.select(key)).serving, reserve: (input) => object.reserveContact(input), salt: services.holdout.salt, epsilon: services.epsilon },
  );
  let scheduled = false;
  if (result.action && result.timing && !holdout) {
    try {
      // A web action has no webhook: the page shows it when the customer next visits (decide
      // counts that exposure then), so nothing is kept here.
      if (result.action.channel === "web") throw new WebAction();
      const { sendAt, hourOfWeek, method } = result.timing;
      const arm = method === "best" ? "chosen" : method === "explored" ? "explore" : method === "fallback" ? "fallback" : undefined;
      const fallbackHour = hourOfWeek % 24 === version.catalog.policy.sendTime.fallbackHour;
      await services.scheduler.schedule({
        decisionId, customerKey: key, channel: result.action.channel, actionId: result.action.id, contentRef: result.action.contentRef, sendAt,
        ...(moment ? { moment } : {}),
        ...(arm ? { sendTimeArm: arm, hourOfWeek, fallbackHour } : {}),
      });
      scheduled = true;
    } catch (err) {
      // Never sent, so it must not count against the contact policy or the send-hour counts.
      result.reasons.push(err instanceof WebAction ? "web_in_page" : "not_scheduled");
      await object.releaseContact(decisionId);
    }
    if (scheduled) defer(recordPopulationSend(env.DB, result.timing.hourOfWeek).catch(() => undefined));
  }
  const feedbackKey = moment && momentKpi ? await visitorKey(key) : undefined;
  const record = nextActionRecord(result, { customerKey: key, moment, triggerAt, now, holdout, scheduled, catalogVersion: version.version, latencyMs: Math.max(0, services.now() - now), hashVersion: HASH_VERSION, momentKpi, feedbackKey });
  defer(services.audit.write([record]).catch(() => undefined));
  return nextActionAnswer(result, { holdout, scheduled, moment });
}
