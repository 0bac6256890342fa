import { Hono } from "hono";
import { jsonBody, limitBody, requireJson } from "../http/json-body.ts";
import type { AppEnv } from "../services.ts";
import { actorHeader, actorOf } from "../admin/actor.ts";
import { KILL_SWITCH_CACHE_MS, killSwitchBody, killSwitchHistory, readKillSwitch, setKillSwitch } from "./store.ts";


/**
 * `/admin/kill-switch`:
 * - `GET`: `{ on, reason, changedBy, changedAt, propagationMs, history }` (newest change first);
 * - `POST {on: boolean, reason?: string}`: turns all personalisation off (every slot its default,
 *   `reason: "default"`) or back on; answered with the new state. Every isolate serves it within
 *   `propagationMs` plus one D1 read (worker/kill-switch/store.ts).
 */
export const killSwitchRoute = new Hono<AppEnv>()
  .get("/", async (c) => {
    const [state, history] = await Promise.all([readKillSwitch(c.env.DB), killSwitchHistory(c.env.DB)]);
    return c.json({ ...state, propagationMs: KILL_SWITCH_CACHE_MS, history }, 200, { "cache-control": "no-store" });
  })
  .post("/", actorHeader, requireJson(), limitBody(2048), jsonBody(killSwitchBody), async (c) => {
    const { on, reason } = c.req.valid("json");
    const actor = actorOf(c);
    const state = await setKillSwitch(c.env.DB, c.env.CONFIG, on, reason || null, actor, c.get("services").now());
    return c.json({ ...state, propagationMs: KILL_SWITCH_CACHE_MS });
  });
