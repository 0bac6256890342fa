/**
 * `/admin/incidents`:
 * - `GET ?state=open|acknowledged|resolved&kind=&from=&to=&limit=` (from/to: ISO dates or ms, on
 *   first seen): incidents newest first, each with its changes (who, when) and alert deliveries
 *   (every attempt's status code), plus `ratePerWeek` (incidents opened per week, 8 weeks);
 * - `POST /:id {action: "acknowledge" | "resolve", note?}`: the change, by `X-Nextbest-Actor`
 *   (else "admin"); its alert is queued and the cron delivers it. 404 unknown id, 409 when the
 *   incident's state does not allow the action;
 * - `POST /run`: runs the governance checks now (what the five-minute cron does) after the answer
 *   (202): for operators who want a verdict at once, and for the end-to-end alert test.
 */
import { zValidator } from "@hono/zod-validator";
import { Hono } from "hono";
import { z } from "zod";
import { deliveriesOf, queueAlerts, webhooksFromEnv } from "../alerts/deliver.ts";
import { AppError, formatZodError } from "../errors/app-error.ts";
import { jsonBody, limitBody, requireJson } from "../http/json-body.ts";
import { timeParam } from "../http/query.ts";
import { actorHeader, actorOf } from "../admin/actor.ts";
import type { AppEnv } from "../services.ts";
import { EXTRA_SOURCES, runGovernance } from "./governance.ts";
import { act, incidentRate, listIncidents } from "./store.ts";


const listQuery = zValidator(
  "query",
  z.object({
    state: z.enum(["open", "acknowledged", "resolved"]).optional(),
    kind: z.string().max(100).optional(),
    from: timeParam.optional(),
    to: timeParam.optional(),
    limit: z.coerce.number().int().min(1).max(500).default(100),
  }).refine((q) => q.from === undefined || q.to === undefined || q.from <= q.to, { message: "from must not be after to", path: ["from"] }),
  (r) => {
    if (!r.success) throw new AppError("invalid_request", formatZodError(r.error, "query"));
  },
);

const idParam = zValidator("param", z.object({ id: z.coerce.number().int().positive() }), (r) => {
  if (!r.success) throw new AppError("invalid_request", formatZodError(r.error, "param"));
});

const actionBody = z.object({ action: z.enum(["acknowledge", "resolve"]), note: z.string().trim().max(1000).optional() }).strict();

export const incidentsRoute = new Hono<AppEnv>()
  .get("/", listQuery, async (c) => {
    const q = c.req.valid("query");
    const incidents = await listIncidents(c.env.DB, { ...q });
    const deliveries = await deliveriesOf(c.env.DB, incidents.map((i) => i.id));
    const ratePerWeek = await incidentRate(c.env.DB, c.get("services").now());
    return c.json({ incidents: incidents.map((i) => ({ ...i, alerts: deliveries.get(i.id) ?? [] })), ratePerWeek }, 200, { "cache-control": "no-store" });
  })
  .post("/run", async (c) => {
    const now = c.get("services").now();
    c.executionCtx.waitUntil(runGovernance(c.env, now, EXTRA_SOURCES).catch((err) => console.error("governance run failed:", err instanceof Error ? err.message : err)));
    return c.json({ started: now }, 202);
  })
  .post("/:id", idParam, actorHeader, requireJson(), limitBody(4096), jsonBody(actionBody), async (c) => {
    const { action, note } = c.req.valid("json");
    const actor = actorOf(c);
    const now = c.get("services").now();
    const change = await act(c.env.DB, c.req.valid("param").id, action, actor, note || null, now);
    await queueAlerts(c.env.DB, [change], webhooksFromEnv(c.env), now);
    return c.json(change);
  });
