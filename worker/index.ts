import { cancelOnMomentExit } from "./activation/moment-exit.ts";
import { adaptiveId } from "./adaptive/model.ts";
import { learnAdaptiveQuietly } from "./adaptive/store.ts";
import { createApp } from "./app.ts";
import { LAKE_FLUSH_CRON } from "./lake/cadence.ts";
import { flushLake } from "./lake/flush.ts";
import { EXTRA_SOURCES, runGovernance } from "./incidents/governance.ts";
import { startJourneyOnEntry } from "./journeys/entry.ts";
import { onMomentEntry, onMomentExit } from "./moments/exits.ts";
import { handleQueue } from "./pipeline/wire.ts";
import { runRetention } from "./retention/retention.ts";

export { VisitorState } from "./visitor/visitor-state.ts";
export { ModelValidator } from "./models/validator.ts";
export { Outbox } from "./activation/outbox.ts";

const app = createApp();

// Leaving a moment cancels the outbound actions scheduled for it (worker/activation/).
onMomentExit(cancelOnMomentExit);
// Entering a moment with `onEntry.nextAction` starts its journey for an identified customer (worker/journeys/).
onMomentEntry(startJourneyOnEntry);

export default {
  fetch: app.fetch,
  // Cron triggers (wrangler.toml [triggers]): the daily retention of audit rows and events, and
  // every five minutes the lake flush and the governance run.
  scheduled(controller, env, ctx) {
    ctx.waitUntil(controller.cron === LAKE_FLUSH_CRON ? flushLake(env.DB, env.LAKE, { now: controller.scheduledTime }) : runRetention(env, controller.scheduledTime));
    // Labels wait LABEL_DELAY_MS: the cron lets the adaptive model learn when no batch arrives.
    // Governance (worker/incidents/): checks and drift (worker/drift/), incidents, auto-protection and
    // alerts, every five minutes.
    if (controller.cron === LAKE_FLUSH_CRON) ctx.waitUntil(runGovernance(env, controller.scheduledTime, EXTRA_SOURCES).catch((err) => console.error("governance run failed:", err instanceof Error ? err.message : err)));
    ctx.waitUntil(adaptiveId().then((id) => learnAdaptiveQuietly(env.DB, id, controller.scheduledTime)));
  },
  // Queue consumers (wrangler.toml [[queues.consumers]]): the log pipeline and its dead letters.
  queue(batch, env) {
    return handleQueue(batch, env);
  },
} satisfies ExportedHandler<Env>;
