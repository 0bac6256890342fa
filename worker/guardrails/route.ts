import { Hono } from "hono";
import { jsonBody, limitBody, requireJson } from "../http/json-body.ts";
import type { AppEnv } from "../services.ts";
import { guardrailConfigSchema } from "./config.ts";

/** Guardrail configurations can hold suppression lists; 1 MB is plenty. */
const MAX_BYTES = 1024 * 1024;

/** Who made a change: `X-Nextbest-Actor` if given, else "admin". */
function actor(header: string | undefined): string {
  const name = (header ?? "").trim().slice(0, 128);
  return name || "admin";
}

/**
 * `GET /admin/guardrails` (the version in force), `PUT /admin/guardrails` (validate and save a
 * new version; a bad config answers 422 with the path of each error and changes nothing),
 * `GET /admin/guardrails/history`.
 */
export const guardrailsRoute = new Hono<AppEnv>()
  .get("/", async (c) => c.json(await c.get("services").guardrails.current()))
  .get("/history", async (c) => c.json({ versions: await c.get("services").guardrails.history(100) }))
  .put("/", requireJson(), limitBody(MAX_BYTES), jsonBody(guardrailConfigSchema, "invalid_config"), async (c) => {
    const { guardrails, now } = c.get("services");
    const saved = await guardrails.save(c.req.valid("json"), actor(c.req.header("x-nextbest-actor")), now());
    return c.json(saved, 200);
  });
