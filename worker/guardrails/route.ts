/**
 * The guardrail configuration admin API.
 *
 * - `GET /admin/guardrails`: the newest version (D1), with `ETag: "<version>"`.
 * - `GET /admin/guardrails/history`: versions newest first (who, when, `action`, `restoredFrom`).
 * - `GET /admin/guardrails/:version`: one version (0 is the built-in default).
 * - `PUT /admin/guardrails`: replaces the whole configuration.
 * - `PATCH /admin/guardrails`: a JSON Merge Patch (RFC 7396) applied to the newest version:
 *   only the members named change, `null` removes a member (its default comes back).
 * - `POST /admin/guardrails/rollback` `{ "version": n }`: saves version n's configuration as a new
 *   version (`action: "rollback"`, `restoredFrom: n`), so the history shows the rollback.
 *
 * Optimistic concurrency: every answer carries `ETag: "<version>"`. A write with
 * `If-Match: "<version>"` (or `*`) is applied only if that is still the newest version, else 412
 * `precondition_failed` and nothing changes. Without `If-Match` a write is applied to whatever is
 * newest (PUT: last writer wins; PATCH: merged into the newest — re-read and re-merged when
 * another save lands meanwhile — so concurrent patches to different members all survive; 409
 * `conflict` only after 8 such races in a row).
 *
 * Every saved configuration is validated (422 `invalid_config`, `path: message` per error).
 * PUT and PATCH also refuse caps and exclusions naming a block or campaign absent from the
 * catalog (422 with the path, e.g. `frequencyCaps.perBlock.hero-shoez`); a rollback restores a
 * configuration that was valid when saved, so it is never refused for that: it answers the names
 * the catalog no longer has in `warnings`.
 */
import { actorOf } from "../admin/actor.ts";
import { Hono, type Context } from "hono";
import { apply as applyMergePatch } from "json-merge-patch";
import { z } from "zod";
import { AppError, formatZodError } from "../errors/app-error.ts";
import { jsonBody, limitBody, requireJson } from "../http/json-body.ts";
import type { AppEnv } from "../services.ts";
import { guardrailConfigSchema, type GuardrailConfig } from "./config.ts";
import { unknownReferences, type UnknownReference } from "./references.ts";
import type { GuardrailStore, GuardrailVersion, SaveOptions } from "./store.ts";

/** Guardrail configurations can hold suppression lists; 1 MB is plenty. */
const MAX_BYTES = 1024 * 1024;

const etag = (version: number) => `"${version}"`;

/**
 * The versions an `If-Match` header accepts: `*`, or a list of ETags `"<n>"` (a bare `n` is
 * accepted too). Weak tags (`W/"n"`) never match under If-Match's strong comparison
 * (RFC 9110 §13.1.1). Anything else is a 400.
 */
export function parseIfMatch(header: string): "*" | number[] {
  if (header.trim() === "*") return "*";
  return header.split(",").flatMap((raw) => {
    const tag = raw.trim();
    const strong = /^(?:"(\d{1,15})"|(\d{1,15}))$/.exec(tag);
    if (strong) return [Number(strong[1] ?? strong[2])];
    if (/^W\/"\d{1,15}"$/.test(tag)) return [];
    throw new AppError("invalid_request", `If-Match: give the version's ETag, e.g. If-Match: "12" (got ${header.slice(0, 64)})`);
  });
}

/** The newest version, checked against `If-Match` when the request has one (412 otherwise). */
async function newestMatching(c: Context<AppEnv>, store: GuardrailStore): Promise<{ base: GuardrailVersion; conditional: boolean }> {
  const header = c.req.header("if-match");
  const base = await store.latest();
  if (header === undefined) return { base, conditional: false };
  const accepted = parseIfMatch(header);
  if (accepted !== "*" && !accepted.includes(base.version)) {
    throw new AppError("precondition_failed", `If-Match ${header} is not the newest version ${etag(base.version)}: read it again (GET /admin/guardrails) and reapply your change`);
  }
  return { base, conditional: true };
}

const describeReferences = (refs: UnknownReference[]) => refs.map((r) => `${r.path}: ${r.message}`).join("; ");

/** Saves `config` as a new version of `base`; refuses (or, for a rollback, reports) unknown names. */
async function save(c: Context<AppEnv>, config: GuardrailConfig, base: { base: GuardrailVersion; conditional: boolean }, options: Omit<SaveOptions, "expectedVersion">) {
  const { guardrails, catalog, now } = c.get("services");
  const unknown = unknownReferences(config, await catalog.get());
  if (unknown.length && options.action !== "rollback") throw new AppError("invalid_config", describeReferences(unknown));
  // PUT without If-Match replaces whatever is newest; everything else is a compare-and-set.
  const expectedVersion = base.conditional || options.action !== "put" ? base.base.version : undefined;
  const saved = await guardrails.save(config, actorOf(c), now(), { ...options, ...(expectedVersion !== undefined ? { expectedVersion } : {}) });
  if (!saved) {
    if (base.conditional) throw new AppError("precondition_failed", `version ${etag(base.base.version)} was replaced meanwhile: read it again and reapply your change`);
    throw new AppError("conflict", "the configuration was changed by another request meanwhile; retry");
  }
  const warnings = unknown.map((r) => ({ code: "unknown_reference", ...r }));
  return c.json({ ...saved, ...(options.action === "rollback" ? { warnings } : {}) }, 200, { etag: etag(saved.version) });
}

const FORBIDDEN_KEYS = new Set(["__proto__", "constructor", "prototype"]);
/**
 * Deepest object nesting a merge patch may have: the configuration's own is under ten levels.
 * Checked here, before the recursive walks (this one, the merge), so a 12 KB body of 2,000 nested
 * objects is a 422 rather than a stack overflow (a 500).
 */
const MAX_PATCH_DEPTH = 32;
/** Paths of member names that must not be merged into an object (prototype pollution). */
function forbiddenKeys(value: unknown, path: string[] = []): string[] {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return [];
  if (path.length >= MAX_PATCH_DEPTH) throw new AppError("invalid_config", `${path.slice(0, 3).join(".")}…: nested deeper than ${MAX_PATCH_DEPTH} levels`);
  return Object.entries(value).flatMap(([k, v]) => (FORBIDDEN_KEYS.has(k) ? [[...path, k].join(".")] : forbiddenKeys(v, [...path, k])));
}

/** Merges of a PATCH without If-Match before a race answers 409. */
const PATCH_ATTEMPTS = 8;

const versionParam = z.object({ version: z.coerce.number().int().min(0) });
const rollbackBody = z.object({ version: z.number().int().min(0) }).strict();

export const guardrailsRoute = new Hono<AppEnv>()
  .get("/", async (c) => {
    const latest = await c.get("services").guardrails.latest();
    return c.json(latest, 200, { etag: etag(latest.version) });
  })
  .get("/history", async (c) => c.json({ versions: await c.get("services").guardrails.history(100) }))
  .get("/:version{[0-9]{1,15}}", async (c) => {
    const { version } = versionParam.parse(c.req.param());
    const found = await c.get("services").guardrails.get(version);
    if (!found) throw new AppError("not_found", `no guardrail configuration version ${version}`);
    return c.json(found, 200, { etag: etag(found.version) });
  })
  .put("/", requireJson(), limitBody(MAX_BYTES), jsonBody(guardrailConfigSchema, "invalid_config"), async (c) => {
    const base = await newestMatching(c, c.get("services").guardrails);
    return save(c, c.req.valid("json"), base, { action: "put" });
  })
  .patch("/", requireJson(), limitBody(MAX_BYTES), async (c) => {
    let patch: unknown;
    try {
      patch = JSON.parse(await c.req.text());
    } catch {
      throw new AppError("invalid_json", "body is not valid JSON");
    }
    // A merge patch that is not an object would replace the whole configuration (RFC 7396 §2).
    if (patch === null || typeof patch !== "object" || Array.isArray(patch)) throw new AppError("invalid_config", "body: a merge patch must be a JSON object");
    const forbidden = forbiddenKeys(patch);
    if (forbidden.length) throw new AppError("invalid_config", forbidden.map((p) => `${p}: not a configuration member`).join("; "));
    // Without If-Match the patch is merged into whatever is newest: when another save lands
    // between the read and the write, read again and merge again (a few times, then 409).
    for (let attempt = 1; ; attempt++) {
      const base = await newestMatching(c, c.get("services").guardrails);
      const merged = applyMergePatch(structuredClone(base.base.config), patch);
      const parsed = guardrailConfigSchema.safeParse(merged);
      if (!parsed.success) throw new AppError("invalid_config", formatZodError(parsed.error));
      try {
        return await save(c, parsed.data, base, { action: "patch" });
      } catch (err) {
        if (base.conditional || attempt >= PATCH_ATTEMPTS || !(err instanceof AppError && err.code === "conflict")) throw err;
      }
    }
  })
  .post("/rollback", requireJson(), limitBody(1024), jsonBody(rollbackBody), async (c) => {
    const { version } = c.req.valid("json");
    const base = await newestMatching(c, c.get("services").guardrails);
    const target = await c.get("services").guardrails.get(version);
    if (!target) throw new AppError("not_found", `no guardrail configuration version ${version}`);
    return save(c, target.config, base, { action: "rollback", restoredFrom: version });
  });
