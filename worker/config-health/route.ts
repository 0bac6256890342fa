import { Hono } from "hono";
import { isolateModelRuntime, modelSourceFromEnv } from "../models/runtime.ts";
import type { AppEnv } from "../services.ts";
import { configHealth, expireConfigCaches, type ConfigSource, type SourceHealth } from "./last-good.ts";

/**
 * `GET /admin/config/health`: reads every configuration source the decide path uses (catalog,
 * guardrails, campaign holdouts, model deployment) again, validates it, and answers what this
 * isolate serves for each — the stored value, the last one that validated, or the built-in
 * default — with the validation error (paths and messages) of a stored value that is not served.
 * `ok` is false when any source has an error. Always 200: the answer is a report.
 */
export const configHealthRoute = new Hono<AppEnv>().get("/health", async (c) => {
  const services = c.get("services");
  expireConfigCaches();
  isolateModelRuntime.invalidate();
  await Promise.all([
    services.catalog.get(),
    services.guardrails.current(),
    services.campaignHoldouts(),
    isolateModelRuntime.deployment(modelSourceFromEnv(c.env)),
  ]);
  const sources = Object.fromEntries(configHealth().map((s) => [s.source, s])) as Partial<Record<ConfigSource, SourceHealth>>;
  return c.json({ ok: Object.values(sources).every((s) => s.status === "ok"), sources }, 200, { "cache-control": "no-store" });
});
