import { createApp } from "./app.ts";

export { VisitorState } from "./visitor/visitor-state.ts";

const app = createApp();

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>;
