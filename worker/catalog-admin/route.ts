/**
 * The catalog admin API, mounted at /admin/catalog (bearer token; who acts from
 * `X-Nextbest-Actor`, else "admin"), shaped like the guardrails admin API (docs/API.md):
 *
 * - `GET /` the newest catalog version (whole document, every block with its `status`);
 *   `GET /history` versions newest first (who, when, `action`, `target`, `diff`);
 *   `GET /:version` one version; `POST /rollback { version }` saves that version's catalog again.
 * - `GET /blocks` (`?status=`), `GET /blocks/:id`, `POST /blocks` (a new draft), `PUT` / `PATCH`
 *   (JSON Merge Patch) `/blocks/:id` (a draft changes; an approved or live block keeps serving and
 *   the edit waits as `pending`), `POST /blocks/:id/approve|publish|archive|restore|discard`.
 * - `GET /slots`, `POST /slots` (with its default block), `PATCH /slots/:id`, `POST /slots/:id/archive`.
 *
 * Each change is one new version in D1, published to KV (store.ts). A change that would break
 * serving is refused with 422 `invalid_catalog` and paths (validate.ts); the version in force
 * stays. Concurrency as in the guardrails API: a block answers `ETag: "<revision>"` (the version
 * in which it last changed), the catalog `ETag: "<version>"`; a write with a stale `If-Match` is
 * 412. Without `If-Match`, a write that loses a race to a change of the same block (or slot) is
 * 409 and nothing of it is saved; a race with a change elsewhere is retried on the newer version.
 */
import { actorOf } from "../admin/actor.ts";
import { Hono, type Context } from "hono";
import { apply as applyMergePatch } from "json-merge-patch";
import { z } from "zod";
import { blockStatusSchema, type Catalog } from "../catalog/schema.ts";
import { AppError, formatZodError } from "../errors/app-error.ts";
import { parseIfMatch } from "../guardrails/route.ts";
import { jsonBody, limitBody, requireJson } from "../http/json-body.ts";
import { sanitizeBlockHtml, type Removal } from "../sanitize/sanitize.ts";
import type { AppEnv } from "../services.ts";
import { activeModels } from "./models.ts";
import { d1CatalogVersionStore, type CatalogAction, type CatalogVersion } from "./store.ts";
import { assertValid } from "./validate.ts";
import { applyChange, blockInputSchema, contentOf, findBlock, sameContent, slotInputSchema, slotPatchSchema, type BlockInput, type CatalogChange } from "./workflow.ts";

/** A catalog of a few hundred blocks of 20 KB HTML each fits; one block is at most 64 KB. */
const MAX_BLOCK_BYTES = 64 * 1024;
/** Saves of a change that raced changes elsewhere before the answer is 409. */
const ATTEMPTS = 8;

const etag = (n: number) => `"${n}"`;
const storeOf = (c: Context<AppEnv>) => d1CatalogVersionStore(c.env.DB, c.env.CONFIG, c.get("services").now);
/** Four eyes unless the deployment turns it off (wrangler.toml `CATALOG_REQUIRE_FOUR_EYES`). */
export const fourEyesRequired = (env: Partial<Pick<Env, "CATALOG_REQUIRE_FOUR_EYES">>) => env.CATALOG_REQUIRE_FOUR_EYES !== "false";

/** What a change is about: a block, a slot, or the whole catalog (rollback). */
type Scope = { kind: "block" | "slot"; id: string } | { kind: "catalog" };

const blockRevision = (catalog: Catalog, id: string) => catalog.blocks.find((b) => b.id === id)?.review?.revision ?? 0;
/** The JSON of what the scope covers, to tell whether someone else changed it meanwhile. */
function snapshot(catalog: Catalog, scope: Scope): string {
  if (scope.kind === "block") return JSON.stringify(catalog.blocks.find((b) => b.id === scope.id) ?? null);
  if (scope.kind === "slot") return JSON.stringify(catalog.slots[scope.id] ?? null);
  return String(catalog.version);
}

/** The ETag the scope answers with: a block's revision, else the catalog version. */
const tagOf = (catalog: Catalog, scope: Scope) => (scope.kind === "block" ? blockRevision(catalog, scope.id) : catalog.version);

/** Refuses with 412 when `If-Match` does not name the scope's current ETag; true when conditional. */
function checkIfMatch(c: Context<AppEnv>, base: CatalogVersion, scope: Scope): boolean {
  const header = c.req.header("if-match");
  if (header === undefined) return false;
  const accepted = parseIfMatch(header);
  const current = tagOf(base.catalog, scope);
  if (accepted !== "*" && !accepted.includes(current)) {
    throw new AppError("precondition_failed", `If-Match ${header.slice(0, 64)} is not the current ETag ${etag(current)}: read it again and reapply your change`);
  }
  return true;
}

/**
 * Applies a change to the newest version, validates it and saves it as the next version;
 * answers the saved version's summary with what the change made (the block or slot).
 */
async function commit(c: Context<AppEnv>, scope: Scope, action: CatalogAction, build: (base: CatalogVersion) => Catalog | null, options: { status?: 200 | 201; restoredFrom?: number; removed?: () => Removal[] } = {}) {
  const status = options.status ?? 200;
  const answer = (v: CatalogVersion, s: 200 | 201) => respond(c, v, scope, s, options.removed ? { removed: options.removed() } : {});
  const store = storeOf(c);
  const services = c.get("services");
  const [guardrails, models] = await Promise.all([services.guardrails.latest(), activeModels(c.env.DB)]);
  let first: string | undefined;
  for (let attempt = 1; ; attempt++) {
    const base = await store.latest();
    const conditional = checkIfMatch(c, base, scope);
    const seen = snapshot(base.catalog, scope);
    if (first !== undefined && seen !== first) {
      throw new AppError("conflict", `${scope.kind === "catalog" ? "the catalog" : `${scope.kind} "${scope.id}"`} was changed by another request meanwhile: read it again and reapply your change`);
    }
    first ??= seen;
    const next = build(base);
    if (!next) return answer(base, 200); // nothing changed: no new version
    assertValid(base.catalog, next, { guardrails: guardrails.config, models });
    const target = scope.kind === "catalog" ? undefined : scope.id;
    const saved = await store.save(base, next, { author: actorOf(c), createdAt: services.now(), action, ...(target ? { target } : {}), ...(options.restoredFrom !== undefined ? { restoredFrom: options.restoredFrom } : {}) });
    if (saved) return answer(saved, status);
    if (conditional) throw new AppError("precondition_failed", `the ${scope.kind} was changed meanwhile: read it again and reapply your change`);
    if (attempt >= ATTEMPTS) throw new AppError("conflict", "the catalog kept changing meanwhile; retry");
  }
}

/** The saved version's summary with what the change made; `removed` for block HTML that was sanitised. */
function respond(c: Context<AppEnv>, v: CatalogVersion, scope: Scope, status: 200 | 201, extra: { removed?: Removal[] }) {
  const { catalog, ...meta } = v;
  const what = scope.kind === "block" ? { block: findBlock(catalog, scope.id) } : scope.kind === "slot" ? { slot: { id: scope.id, ...catalog.slots[scope.id]! } } : { catalog };
  return c.json({ ...meta, ...what, ...extra }, status, { etag: etag(tagOf(catalog, scope)) });
}

/**
 * Sanitises a block's HTML on save (worker/sanitize/: allow-list of tags and attributes, no
 * scripts, handlers, `javascript:` URLs, `<iframe srcdoc>` or forms to other origins): what is
 * saved is what serves, and the answer's `removed` lists what went, so the marketer sees why.
 */
function sanitized(input: BlockInput): { block: BlockInput; removed: Removal[] } {
  const { html, removed } = sanitizeBlockHtml(input.html);
  return { block: { ...input, html }, removed };
}

/** A JSON body parsed by hand (merge patches), 400 when it is not JSON. */
async function readJson(c: Context<AppEnv>): Promise<unknown> {
  try {
    return JSON.parse(await c.req.text());
  } catch {
    throw new AppError("invalid_json", "body is not valid JSON");
  }
}

const parseOr422 = <T extends z.ZodType>(schema: T, value: unknown): z.infer<T> => {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new AppError("invalid_catalog", formatZodError(parsed.error));
  return parsed.data;
};

const ctxOf = (c: Context<AppEnv>, base: CatalogVersion) => ({ actor: actorOf(c), at: c.get("services").now(), version: base.version + 1, requireFourEyes: fourEyesRequired(c.env) });
const change = (c: Context<AppEnv>, base: CatalogVersion, ch: CatalogChange) => applyChange(base.catalog, ch, ctxOf(c, base));

const idParam = z.object({ id: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/) });
const versionParam = z.object({ version: z.coerce.number().int().min(1) });
const listQuery = z.object({ status: blockStatusSchema.optional() });
const rollbackBody = z.object({ version: z.number().int().min(1) }).strict();
const id = (c: Context<AppEnv>) => {
  const parsed = idParam.safeParse(c.req.param());
  if (!parsed.success) throw new AppError("not_found", `no such id "${c.req.param("id")?.slice(0, 64)}"`);
  return parsed.data.id;
};

export const catalogAdminRoute = new Hono<AppEnv>()
  .get("/", async (c) => {
    const latest = await storeOf(c).latest();
    return c.json(latest, 200, { etag: etag(latest.version) });
  })
  .get("/history", async (c) => c.json({ versions: await storeOf(c).history(100) }))
  .get("/:version{[0-9]{1,15}}", async (c) => {
    const { version } = versionParam.parse(c.req.param());
    const found = await storeOf(c).get(version);
    if (!found) throw new AppError("not_found", `no catalog version ${version}`);
    return c.json(found, 200, { etag: etag(found.version) });
  })
  .post("/rollback", requireJson(), limitBody(1024), jsonBody(rollbackBody), async (c) => {
    const { version } = c.req.valid("json");
    const target = await storeOf(c).get(version);
    if (!target) throw new AppError("not_found", `no catalog version ${version}`);
    return commit(c, { kind: "catalog" }, "rollback", (base) => {
      // Blocks the rollback changes get a new revision, so an ETag read before it no longer matches.
      const blocks = target.catalog.blocks.map((b) => {
        const now = base.catalog.blocks.find((x) => x.id === b.id);
        return JSON.stringify(now) === JSON.stringify(b) || !b.review ? b : { ...b, review: { ...b.review, revision: base.version + 1 } };
      });
      // Archived blocks the old version did not have yet stay in the catalog: ids are never lost.
      const kept = base.catalog.blocks.filter((b) => !target.catalog.blocks.some((t) => t.id === b.id)).map((b) => ({ ...b, status: "archived" as const }));
      return { ...target.catalog, version: base.version + 1, blocks: [...blocks, ...kept] };
    }, { restoredFrom: version });
  })
  .get("/blocks", async (c) => {
    const { status } = parseOr422(listQuery, c.req.query());
    const { version, catalog } = await storeOf(c).latest();
    return c.json({ version, blocks: catalog.blocks.filter((b) => !status || (b.status ?? "live") === status) }, 200, { etag: etag(version) });
  })
  .get("/blocks/:id", async (c) => {
    const { catalog } = await storeOf(c).latest();
    const block = findBlock(catalog, id(c));
    return c.json(block, 200, { etag: etag(block.review?.revision ?? 0) });
  })
  .post("/blocks", requireJson(), limitBody(MAX_BLOCK_BYTES), async (c) => {
    const { block: input, removed } = sanitized(parseOr422(blockInputSchema, await readJson(c)));
    return commit(c, { kind: "block", id: input.id }, "create_block", (base) => change(c, base, { action: "create_block", block: input }), { status: 201, removed: () => removed });
  })
  .put("/blocks/:id", requireJson(), limitBody(MAX_BLOCK_BYTES), async (c) => {
    const blockId = id(c);
    const body = await readJson(c);
    const { block: input, removed } = sanitized(parseOr422(blockInputSchema, body && typeof body === "object" && !Array.isArray(body) ? { id: blockId, ...body } : body));
    return commit(
      c,
      { kind: "block", id: blockId },
      "update_block",
      (base) => (sameContent(findBlock(base.catalog, blockId), input) ? null : change(c, base, { action: "update_block", id: blockId, block: input })),
      { removed: () => removed },
    );
  })
  .patch("/blocks/:id", requireJson(), limitBody(MAX_BLOCK_BYTES), async (c) => {
    const blockId = id(c);
    const patch = await readJson(c);
    if (patch === null || typeof patch !== "object" || Array.isArray(patch)) throw new AppError("invalid_catalog", "body: a merge patch must be a JSON object");
    if (/"(__proto__|constructor|prototype)"\s*:/.test(JSON.stringify(patch))) throw new AppError("invalid_catalog", "body: not a block member");
    let removed: Removal[] = [];
    return commit(
      c,
      { kind: "block", id: blockId },
      "update_block",
      (base) => {
        const merged = sanitized(parseOr422(blockInputSchema, applyMergePatch(structuredClone(contentOf(findBlock(base.catalog, blockId))), patch)));
        removed = merged.removed;
        return sameContent(findBlock(base.catalog, blockId), merged.block) ? null : change(c, base, { action: "update_block", id: blockId, block: merged.block });
      },
      { removed: () => removed },
    );
  })
  .post("/blocks/:id/:step{approve|publish|archive|restore|discard}", async (c) => {
    const blockId = id(c);
    const step = c.req.param("step") as "approve" | "publish" | "archive" | "restore" | "discard";
    return commit(c, { kind: "block", id: blockId }, step, (base) => change(c, base, { action: step, id: blockId }));
  })
  .get("/slots", async (c) => {
    const { version, catalog } = await storeOf(c).latest();
    return c.json({ version, slots: Object.entries(catalog.slots).map(([slotId, s]) => ({ id: slotId, ...s })) }, 200, { etag: etag(version) });
  })
  .post("/slots", requireJson(), limitBody(MAX_BLOCK_BYTES), async (c) => {
    const raw = parseOr422(slotInputSchema, await readJson(c));
    const { block, removed } = sanitized(raw.defaultBlock);
    const input = { ...raw, defaultBlock: block };
    return commit(c, { kind: "slot", id: input.id }, "create_slot", (base) => change(c, base, { action: "create_slot", slot: input }), { status: 201, removed: () => removed });
  })
  .patch("/slots/:id", requireJson(), limitBody(4096), async (c) => {
    const slotId = id(c);
    const patch = parseOr422(slotPatchSchema, await readJson(c));
    return commit(c, { kind: "slot", id: slotId }, "update_slot", (base) => change(c, base, { action: "update_slot", id: slotId, patch }));
  })
  .post("/slots/:id/archive", async (c) => {
    const slotId = id(c);
    return commit(c, { kind: "slot", id: slotId }, "archive_slot", (base) => change(c, base, { action: "archive_slot", id: slotId }));
  });
