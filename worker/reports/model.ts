import { AppError } from "../errors/app-error.ts";
import { builtinId } from "../models/builtin.ts";
import { d1ModelRegistry } from "../models/registry.ts";

const HEX_ID = /^[0-9a-f]{12,64}$/;

/**
 * Turns the `model` a report is asked for into the `modelVersion` decisions record, accepting the
 * same forms as the model routes (worker/models/route.ts, service.ts `resolve`): the model's id
 * (SHA-256, 64 hex digits), a unique prefix of it of at least 12 hex digits, or its version
 * (`name@sha12`). A model the registry no longer has is still found by the decisions that name
 * it (the version ends in the id's first 12 digits).
 *
 * Errors: `invalid_request` (400) for a prefix naming several models; `not_found` (404) for a model
 * neither the registry nor any aggregated decision knows.
 */
export async function resolveModelVersion(db: D1Database, model: string): Promise<string> {
  // `default` names the shipped model, as on the model routes.
  if (model === "default") model = await builtinId();
  if (HEX_ID.test(model)) {
    const registry = d1ModelRegistry(db);
    const exact = model.length === 64 ? await registry.get(model) : null;
    if (exact) return exact.version;
    const matches = model.length < 64 ? await registry.byPrefix(model) : [];
    if (matches.length > 1) throw new AppError("invalid_request", `model: "${model}" names more than one model; give more digits`);
    if (matches.length === 1) return matches[0]!.version;
    const { results } = await db
      .prepare("SELECT DISTINCT model FROM agg_daily WHERE model LIKE ? LIMIT 2")
      .bind(`%@${model.slice(0, 12)}`)
      .all<{ model: string }>();
    if (results.length > 1) throw new AppError("invalid_request", `model: "${model}" names more than one model version (${results.map((r) => r.model).join(", ")})`);
    if (results.length === 1) return results[0]!.model;
    throw new AppError("not_found", `no model ${model}: give a model id, a 12-digit prefix of one, or a version as decisions record it (name@sha12)`);
  }
  const known =
    (await db.prepare("SELECT 1 AS x FROM models WHERE version = ? LIMIT 1").bind(model).first("x")) ??
    (await db.prepare("SELECT 1 AS x FROM agg_daily WHERE model = ? LIMIT 1").bind(model).first("x"));
  if (known === null) throw new AppError("not_found", `no model ${model}: give a model id, a 12-digit prefix of one, or a version as decisions record it (name@sha12)`);
  return model;
}

/**
 * The `model` filter of the raw-row routes (`GET /admin/decisions`, `GET /admin/export`): `default`,
 * an id or a 12+ hex-digit prefix is resolved like `resolveModelVersion` (404 when unknown); any
 * other value is taken as a version (`name@sha12`) and matched as given, so a version that only
 * recent raw rows name still filters them.
 */
export async function modelFilter(db: D1Database, model: string | undefined): Promise<string | undefined> {
  if (model === undefined) return undefined;
  return model === "default" || HEX_ID.test(model) ? resolveModelVersion(db, model) : model;
}
