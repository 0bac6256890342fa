/**
 * `GET /admin/health`: one page of status — the serving models (the deployment), the log
 * pipeline (the figures of `GET /admin/pipeline`), incidents not resolved, the kill switch, and
 * the incident rate per week (the governance KPI), and decisions per UTC day of the last 14 with
 * the personalised share (`decisions.days`, ./decision-days.ts).
 */
import { Hono } from "hono";
import { incidentRate, listIncidents } from "../incidents/store.ts";
import { KILL_SWITCH_CACHE_MS, readKillSwitch } from "../kill-switch/store.ts";
import { admin } from "../models/route.ts";
import { pipelineRoute } from "../pipeline/route.ts";
import type { AppEnv } from "../services.ts";
import { decisionDays } from "./decision-days.ts";

export const adminHealthRoute = new Hono<AppEnv>().get("/", async (c) => {
  const now = c.get("services").now();
  const [deployment, pipeline, open, acknowledged, killSwitch, ratePerWeek, days] = await Promise.all([
    admin(c).deployment(),
    Promise.resolve(pipelineRoute.request("/", {}, c.env)).then((r) => r.json() as Promise<unknown>),
    listIncidents(c.env.DB, { state: "open", limit: 100 }),
    listIncidents(c.env.DB, { state: "acknowledged", limit: 100 }),
    readKillSwitch(c.env.DB),
    incidentRate(c.env.DB, now),
    decisionDays(c.env.DB, now),
  ]);
  const active = [...open, ...acknowledged].map(({ changes: _, ...i }) => i);
  return c.json(
    {
      ok: !killSwitch.on && !active.some((i) => i.severity === "alert"),
      models: deployment,
      pipeline,
      incidents: { open: open.length, acknowledged: acknowledged.length, alerts: active.filter((i) => i.severity === "alert").length, active },
      killSwitch: { ...killSwitch, propagationMs: KILL_SWITCH_CACHE_MS },
      ratePerWeek,
      decisions: { days },
    },
    200,
    { "cache-control": "no-store" },
  );
});
