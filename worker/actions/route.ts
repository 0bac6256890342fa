/**
 * The action catalog admin API (bearer token), versioned like the guardrails:
 *
 * - `GET /admin/actions`: the newest version, `ETag: "<version>"`.
 * - `GET /admin/actions/history`: versions newest first (who, when, action, restoredFrom).
 * - `GET /admin/actions/:version`: one version (0 is the built-in empty catalog).
 * - `PUT /admin/actions`: replaces the document (422 `invalid_config` with `path: message`).
 * - `POST /admin/actions/rollback` `{ "version": n }`: saves version n again as a new version.
 *
 * A write with `If-Match: "<version>"` is applied only if that is still the newest (412 otherwise);
 * `X-Nextbest-Actor` names the author.
 */
import { queryParams } from "../http/query.ts";
import { actorOf } from "../admin/actor.ts";
import { Hono, type Context } from "hono";
import { z } from "zod";
import { AppError } from "../errors/app-error.ts";
import { parseIfMatch } from "../guardrails/route.ts";
import { jsonBody, limitBody, requireJson } from "../http/json-body.ts";
import type { AppEnv } from "../services.ts";
import { actionCatalogSchema, type ActionCatalog } from "./schema.ts";
import type { ActionCatalogVersion } from "./store.ts";

const MAX_BYTES = 512 * 1024;
const etag = (v: number) => `"${v}"`;
/** `?limit=` of the history: 1–500 (default 50); anything else is a 400, as on the other admin lists. */
const historyQuery = z.object({ limit: z.coerce.number().int().min(1).max(500).default(50) }).strict();

async function save(c: Context<AppEnv>, catalog: ActionCatalog, extra: { action: "put" | "rollback"; restoredFrom?: number }): Promise<Response> {
  const { actions, now } = c.get("services");
  const header = c.req.header("if-match");
  let expectedVersion: number | undefined;
  if (header !== undefined) {
    const base = await actions.latest();
    const accepted = parseIfMatch(header);
    if (accepted !== "*" && !accepted.includes(base.version)) throw new AppError("precondition_failed", `If-Match ${header} is not the newest version ${etag(base.version)}`);
    expectedVersion = base.version;
  }
  const saved = await actions.save(catalog, actorOf(c), now(), { ...extra, ...(expectedVersion !== undefined ? { expectedVersion } : {}) });
  if (!saved) throw new AppError("precondition_failed", "the action catalog was replaced meanwhile: read it again and reapply your change");
  return c.json(saved, 200, { etag: etag(saved.version) });
}

const show = (c: Context<AppEnv>, v: ActionCatalogVersion) => c.json(v, 200, { etag: etag(v.version), "cache-control": "no-store" });

export const actionsRoute = new Hono<AppEnv>()
  .get("/", async (c) => show(c, await c.get("services").actions.latest()))
  .get("/history", queryParams(historyQuery), async (c) => {
    const { limit } = c.req.valid("query");
    return c.json({ versions: await c.get("services").actions.history(limit) }, 200, { "cache-control": "no-store" });
  })
  .get("/:version{[0-9]{1,15}}", async (c) => {
    const v = await c.get("services").actions.get(Number(c.req.param("version")));
    if (!v) throw new AppError("not_found", `no action catalog version ${c.req.param("version")}`);
    return show(c, v);
  })
  .put("/", requireJson(), limitBody(MAX_BYTES), jsonBody(actionCatalogSchema, "invalid_config"), async (c) => save(c, c.req.valid("json"), { action: "put" }))
  .post("/rollback", requireJson(), limitBody(1024), jsonBody(z.object({ version: z.number().int().min(0) }).strict()), async (c) => {
    const { version } = c.req.valid("json");
    const target = await c.get("services").actions.get(version);
    if (!target) throw new AppError("not_found", `no action catalog version ${version}`);
    return save(c, target.catalog, { action: "rollback", restoredFrom: version });
  });
