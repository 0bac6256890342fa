import { createApp } from "./app.ts";
import { handleQueue } from "./pipeline/wire.ts";
import { runRetention } from "./retention/retention.ts";

export { VisitorState } from "./visitor/visitor-state.ts";
export { ModelValidator } from "./models/validator.ts";

const app = createApp();

export default {
  fetch: app.fetch,
  // Cron trigger (wrangler.toml [triggers]): retention of audit rows and events.
  scheduled(controller, env, ctx) {
    ctx.waitUntil(runRetention(env, controller.scheduledTime));
  },
  // Queue consumers (wrangler.toml [[queues.consumers]]): the log pipeline and its dead letters.
  queue(batch, env) {
    return handleQueue(batch, env);
  },
} satisfies ExportedHandler<Env>;
