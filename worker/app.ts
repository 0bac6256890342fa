import { Hono } from "hono";
import { cors } from "hono/cors";
import { requireAdmin } from "./admin/auth.ts";
import { actionsRoute } from "./actions/route.ts";
import { adaptiveRoute } from "./adaptive/route.ts";
import { channelsRoute, deliveriesRoute } from "./activation/route.ts";
import { channelReportRoute } from "./activation/report-route.ts";
import { decisionsRoute } from "./audit/route.ts";
import { calibrationRoute } from "./calibration/route.ts";
import { catalogAdminRoute } from "./catalog-admin/route.ts";
import { configHealthRoute } from "./config-health/route.ts";
import { consentRoute } from "./consent/route.ts";
import { consoleSessionRoute } from "./console/route.ts";
import { decideRoute } from "./decide/route.ts";
import { driftRoute } from "./drift/route.ts";
import { customerErasureRoute, erasureRoute } from "./erasure/route.ts";
import { notFound, onError } from "./errors/on-error.ts";
import { evaluateRoute } from "./evaluation/route.ts";
import { eventsRoute } from "./events/route.ts";
import { exportRoute } from "./export/route.ts";
import { guardrailsRoute } from "./guardrails/route.ts";
import { healthRoute } from "./health/route.ts";
import { adminHealthRoute } from "./health/admin-route.ts";
import { incidentsRoute } from "./incidents/route.ts";
import { killSwitchRoute } from "./kill-switch/route.ts";
import { profilesRoute } from "./identity/profiles-route.ts";
import { identifyRoute } from "./identity/route.ts";
import { methodNotAllowed } from "./http/methods.ts";
import { nextActionRoute } from "./next-action/route.ts";
import { lakeRoute } from "./lake/route.ts";
import { init } from "./middleware/init.ts";
import { registryModelProvider } from "./models/runtime.ts";
import { pipelineRoute } from "./pipeline/route.ts";
import { previewAdminRoute, previewPublicRoute } from "./preview/route.ts";
import { proxyRoute, proxyServes } from "./proxy/route.ts";
import { modelsRoute } from "./models/route.ts";
import { momentsRoute } from "./moments/route.ts";
import { momentsReportRoute } from "./moments/report-route.ts";
import { reportsRoute } from "./reports/route.ts";
import { contentReportRoute } from "./reports/content-route.ts";
import type { AppEnv, Services } from "./services.ts";
import { warmOnFirstRequest } from "./warmup/warmup.ts";

/** Assembles the routes; each feature is its own small sub-app. */
export function createApp(override?: (env: Env) => Partial<Services>) {
  const app = new Hono<AppEnv>();
  app.onError(onError);
  app.notFound(notFound);
  // The isolate's first request, whatever it is, starts the ONNX runtime after its answer.
  app.use("*", warmOnFirstRequest((env) => override?.(env).models ?? registryModelProvider(env)));
  app.route("/healthz", healthRoute);
  // The decide API is called from sites on other origins (the script tag) and other channels.
  app.use("/v1/*", cors({ origin: "*", allowMethods: ["POST", "OPTIONS"], allowHeaders: ["content-type"], maxAge: 86400 }));
  app.use("/v1/*", init(override));
  app.route("/v1/decide", decideRoute);
  app.route("/v1/events", eventsRoute);
  app.route("/v1/consent", consentRoute);
  app.route("/v1/preview", previewPublicRoute);
  app.route("/v1/identify", identifyRoute);
  app.route("/v1/next-action", nextActionRoute);
  // The console's sign-in (its pages are static assets under /console/).
  app.route("/console/session", consoleSessionRoute());
  // Admin API: bearer token first, then the same services.
  app.use("/admin/*", requireAdmin(), init(override));
  app.route("/admin/models", modelsRoute);
  app.route("/admin/decisions", decisionsRoute);
  app.route("/admin/reports", reportsRoute);
  app.route("/admin/reports", contentReportRoute);
  app.route("/admin/reports", momentsReportRoute);
  app.route("/admin/export", exportRoute);
  app.route("/admin/visitors", erasureRoute);
  app.route("/admin/customers", customerErasureRoute);
  app.route("/admin/profiles", profilesRoute);
  app.route("/admin/models", evaluateRoute);
  app.route("/admin/models", calibrationRoute);
  app.route("/admin/models", adaptiveRoute);
  app.route("/admin/guardrails", guardrailsRoute);
  app.route("/admin/actions", actionsRoute);
  app.route("/admin/catalog", catalogAdminRoute);
  app.route("/admin/moments", momentsRoute);
  app.route("/admin/pipeline", pipelineRoute);
  app.route("/admin/drift", driftRoute);
  app.route("/admin/config", configHealthRoute);
  app.route("/admin/lake", lakeRoute);
  app.route("/admin/preview", previewAdminRoute);
  app.route("/admin/incidents", incidentsRoute);
  app.route("/admin/kill-switch", killSwitchRoute);
  app.route("/admin/health", adminHealthRoute);
  app.route("/admin/channels", channelsRoute);
  app.route("/admin/deliveries", deliveriesRoute);
  app.route("/admin/reports", channelReportRoute);
  // Proxy mode (PROXY_ORIGIN set): pages under PROXY_PREFIX come from the origin with their slots
  // filled at the edge. Last, so every route above wins; with an empty prefix it serves the rest.
  const proxy = new Hono<AppEnv>().use("*", init(override)).route("/", proxyRoute);
  // A route of ours asked with another method is a 405 with `Allow` (before the proxy, which
  // with an empty prefix would otherwise send it to the origin).
  app.all("*", (c) =>
    methodNotAllowed(c, app.routes, c.req.path.startsWith("/v1/") ? ["OPTIONS"] : []) ??
    (proxyServes(c.env, c.req.url) ? proxy.fetch(c.req.raw, c.env, c.executionCtx) : notFound(c)),
  );
  return app;
}
