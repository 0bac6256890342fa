/**
 * The moments configuration admin API (behind the admin token), versioned like the guardrails:
 * - `GET /admin/moments`: the newest version, `ETag: "<version>"`;
 * - `GET /admin/moments/history`: versions newest first (who, when, `action`, `restoredFrom`);
 * - `GET /admin/moments/:version`: one version (0 is the built-in empty configuration);
 * - `PUT /admin/moments`: replaces the configuration (`{ "moments": [...] }`, ./schema.ts);
 * - `POST /admin/moments/rollback` `{ "version": n }`: saves version n's configuration again.
 * Who: `X-Nextbest-Actor` (else "admin"). `If-Match: "<version>"` makes a write a compare-and-set
 * (412 when another version landed). An invalid configuration is a 422 `invalid_config` with
 * `path: message` per problem, and nothing changes.
 */
import { actorOf } from "../admin/actor.ts";
import { Hono } from "hono";
import { z } from "zod";
import { AppError } from "../errors/app-error.ts";
import { parseIfMatch } from "../guardrails/route.ts";
import { jsonBody, limitBody, requireJson } from "../http/json-body.ts";
import type { AppEnv } from "../services.ts";
import { momentsConfigSchema, type MomentsConfig } from "./schema.ts";
import type { MomentStore, MomentsVersion } from "./store.ts";
import type { Context } from "hono";

const MAX_BYTES = 256 * 1024;
const etag = (version: number) => `"${version}"`;

function store(c: Context<AppEnv>): MomentStore {
  const s = c.get("services").moments;
  if (!s) throw new AppError("not_found", "moments are not configured in this deployment");
  return s;
}

async function save(c: Context<AppEnv>, config: MomentsConfig, options: { action: "put" | "rollback"; restoredFrom?: number }): Promise<Response> {
  const moments = store(c);
  const header = c.req.header("if-match");
  let expectedVersion: number | undefined;
  if (header !== undefined) {
    const base = await moments.latest();
    const accepted = parseIfMatch(header);
    if (accepted !== "*" && !accepted.includes(base.version)) {
      throw new AppError("precondition_failed", `If-Match ${header} is not the newest version ${etag(base.version)}: read it again (GET /admin/moments)`);
    }
    expectedVersion = base.version;
  }
  const saved: MomentsVersion | null = await moments.save(config, actorOf(c), c.get("services").now(), { ...options, ...(expectedVersion !== undefined ? { expectedVersion } : {}) });
  if (!saved) throw new AppError("precondition_failed", "the moments were changed by another request meanwhile: read them again");
  return c.json(saved, 200, { etag: etag(saved.version) });
}

const versionParam = z.object({ version: z.coerce.number().int().min(0) });
const rollbackBody = z.object({ version: z.number().int().min(0) }).strict();

export const momentsRoute = new Hono<AppEnv>()
  .get("/", async (c) => {
    const latest = await store(c).latest();
    return c.json(latest, 200, { etag: etag(latest.version) });
  })
  .get("/history", async (c) => c.json({ versions: await store(c).history(100) }))
  .get("/:version{[0-9]{1,15}}", async (c) => {
    const { version } = versionParam.parse(c.req.param());
    const found = await store(c).get(version);
    if (!found) throw new AppError("not_found", `no moments configuration version ${version}`);
    return c.json(found, 200, { etag: etag(found.version) });
  })
  .put("/", requireJson(), limitBody(MAX_BYTES), jsonBody(momentsConfigSchema, "invalid_config"), async (c) => save(c, c.req.valid("json"), { action: "put" }))
  .post("/rollback", requireJson(), limitBody(1024), jsonBody(rollbackBody), async (c) => {
    const { version } = c.req.valid("json");
    const target = await store(c).get(version);
    if (!target) throw new AppError("not_found", `no moments configuration version ${version}`);
    return save(c, target.config, { action: "rollback", restoredFrom: version });
  });
