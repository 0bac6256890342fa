import { adaptiveId } from "./adaptive/model.ts";
import { learnAdaptiveQuietly } from "./adaptive/store.ts";
import { createApp } from "./app.ts";
import { LAKE_FLUSH_CRON } from "./lake/cadence.ts";
import { flushLake } from "./lake/flush.ts";
import { handleQueue } from "./pipeline/wire.ts";
import { runRetention } from "./retention/retention.ts";

export { VisitorState } from "./visitor/visitor-state.ts";
export { ModelValidator } from "./models/validator.ts";
export { Outbox } from "./activation/outbox.ts";

const app = createApp();

export default {
  fetch: app.fetch,
  // Cron triggers (wrangler.toml [triggers]): the daily retention of audit rows and events, and
  // the lake flush every five minutes.
  scheduled(controller, env, ctx) {
    ctx.waitUntil(controller.cron === LAKE_FLUSH_CRON ? flushLake(env.DB, env.LAKE, { now: controller.scheduledTime }) : runRetention(env, controller.scheduledTime));
    // Labels wait LABEL_DELAY_MS: the cron lets the adaptive model learn when no batch arrives.
    ctx.waitUntil(adaptiveId().then((id) => learnAdaptiveQuietly(env.DB, id, controller.scheduledTime)));
  },
  // Queue consumers (wrangler.toml [[queues.consumers]]): the log pipeline and its dead letters.
  queue(batch, env) {
    return handleQueue(batch, env);
  },
} satisfies ExportedHandler<Env>;
