/**
 * `/admin/models`: upload (validated off the serving path, worker/models/upload.ts), upload
 * status, list, read, activate, roll back, challenger and shadow. Mounted after
 * the admin bearer-token check (worker/app.ts).
 */
import { actorHeader, actorOf } from "../admin/actor.ts";
import { zValidator } from "@hono/zod-validator";
import { Hono, type Context, type MiddlewareHandler } from "hono";
import { z, type ZodType } from "zod";
import { AppError, formatZodError } from "../errors/app-error.ts";
import { jsonBody, limitBody, requireJson } from "../http/json-body.ts";
import type { AppEnv } from "../services.ts";
import { outcomeSchema } from "../ranking/manifest.ts";
import { limitsFromEnv } from "./limits.ts";
import { d1ModelRegistry, r2ModelFiles } from "./registry.ts";
import { isolateModelRuntime } from "./runtime.ts";
import { modelAdmin } from "./service.ts";
import { uploadModel, uploadStatus } from "./upload.ts";

function validated<T extends ZodType>(target: "param" | "query" | "header", schema: T) {
  return zValidator(target, schema, (result) => {
    if (!result.success) throw new AppError("invalid_request", formatZodError(result.error, target));
  });
}

const shaParam = validated("param", z.object({ sha256: z.string().regex(/^[0-9a-f]{64}$/, "the file's SHA-256: 64 lower-case hex digits") }));

const idParam = validated("param", z.object({ id: z.string().regex(/^[0-9a-f]{12,64}$/, "a model id: 12 to 64 lower-case hex digits") }));


/** `?outcome=churn`: which outcome's deployment a rollback changes (default click). */
const outcomeQuery = validated("query", z.object({ outcome: outcomeSchema.default("click") }));

const listQuery = validated("query", z.object({ limit: z.coerce.number().int().min(1).max(200).default(50) }));

const challengerBody = z.object({
  /** Share of visitors ranked by the challenger, 0–100; 0 removes it. */
  percent: z.number().min(0).max(100),
});

export function admin(c: Context<AppEnv>) {
  const limits = limitsFromEnv(c.env);
  return modelAdmin({
    registry: d1ModelRegistry(c.env.DB),
    files: r2ModelFiles(c.env.MODELS),
    invalidate: isolateModelRuntime.invalidate,
    now: c.get("services").now,
    validation: { latencyBudgetMs: limits.latencyBudgetMs },
  });
}

const actor = actorOf;

/** ONNX files are sent as raw bytes. */
const requireOctetStream: MiddlewareHandler = async (c, next) => {
  const type = (c.req.header("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  if (type !== "application/octet-stream") {
    throw new AppError("unsupported_media_type", "send the .onnx file's bytes with content-type application/octet-stream");
  }
  await next();
};

/** The size limit depends on the environment (MODEL_MAX_BYTES), so it is built per request. */
const limitModelBody: MiddlewareHandler<AppEnv> = (c, next) => limitBody(limitsFromEnv(c.env).maxBytes)(c, next);

/** The models sub-app. (`admin` is exported for the calibration and adaptive routes beside it.) */
export const modelsRoute = new Hono<AppEnv>()
  .post("/", actorHeader, requireOctetStream, limitModelBody, async (c) => {
    const bytes = new Uint8Array(await c.req.arrayBuffer());
    if (bytes.length === 0) throw new AppError("invalid_request", "body: empty; send the .onnx file's bytes");
    // Validated by the ModelValidator Durable Object, off the isolates serving decides.
    return uploadModel(c, bytes, actor(c));
  })
  .get("/uploads/:sha256", shaParam, async (c) => uploadStatus(c, c.req.valid("param").sha256))
  .get("/", listQuery, async (c) => c.json(await admin(c).list(c.req.valid("query").limit)))
  .get("/deployment", async (c) => c.json(await admin(c).deployment()))
  .post("/rollback", actorHeader, outcomeQuery, async (c) => c.json(await admin(c).change({ type: "rollback", outcome: c.req.valid("query").outcome }, actor(c))))
  .get("/:id", idParam, async (c) => c.json(await admin(c).get(c.req.valid("param").id)))
  .post("/:id/activate", actorHeader, idParam, async (c) =>
    c.json(await admin(c).change({ type: "activate", id: c.req.valid("param").id }, actor(c))),
  )
  .post("/:id/challenger", actorHeader, idParam, requireJson(), limitBody(1024), jsonBody(challengerBody), async (c) =>
    c.json(await admin(c).change({ type: "challenger", id: c.req.valid("param").id, percent: c.req.valid("json").percent }, actor(c))),
  )
  .post("/:id/shadow", actorHeader, idParam, async (c) => c.json(await admin(c).change({ type: "shadow_add", id: c.req.valid("param").id }, actor(c))))
  .delete("/:id/shadow", actorHeader, idParam, async (c) =>
    c.json(await admin(c).change({ type: "shadow_remove", id: c.req.valid("param").id }, actor(c))),
  );
