import { Hono } from "hono";
import { cors } from "hono/cors";
import { requireAdmin } from "./admin/auth.ts";
import { decideRoute } from "./decide/route.ts";
import { notFound, onError } from "./errors/on-error.ts";
import { guardrailsRoute } from "./guardrails/route.ts";
import { healthRoute } from "./health/route.ts";
import { init } from "./middleware/init.ts";
import type { AppEnv, Services } from "./services.ts";

/** Assembles the routes; each feature is its own small sub-app. */
export function createApp(override?: (env: Env) => Partial<Services>) {
  const app = new Hono<AppEnv>();
  app.onError(onError);
  app.notFound(notFound);
  app.route("/healthz", healthRoute);
  // The decide API is called from sites on other origins (the script tag) and other channels.
  app.use("/v1/*", cors({ origin: "*", allowMethods: ["POST", "OPTIONS"], allowHeaders: ["content-type"], maxAge: 86400 }));
  app.use("/v1/*", init(override));
  app.route("/v1/decide", decideRoute);
  // Admin API: bearer token first, then the same services.
  app.use("/admin/*", requireAdmin(), init(override));
  app.route("/admin/guardrails", guardrailsRoute);
  return app;
}
