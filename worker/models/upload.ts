/**
 * `POST /admin/models` and `GET /admin/models/uploads/:sha256`: the upload is validated by the
 * ModelValidator Durable Object (worker/models/validator.ts), off the isolates serving decides.
 *
 * The upload waits for the outcome up to MODEL_VALIDATION_WAIT_MS (2 s by default), then answers
 * as it always did: 201 (registered), 200 (already registered) or 422 (refused, with the report).
 * When validation takes longer it answers 202 `{ status: "validating", sha256, statusUrl }` with
 * `Location: statusUrl`; `GET statusUrl` answers the job (`validating`, `accepted` with the model
 * and report, `refused` with the error and report, or `failed`). A client may choose: the
 * `Prefer: respond-async` header (RFC 7240 §4.1) answers 202 at once, `Prefer: wait=<seconds>`
 * (§4.3) waits that long (at most 60 s) instead of the default.
 */
import type { Context } from "hono";
import { AppError } from "../errors/app-error.ts";
import type { AppEnv } from "../services.ts";
import { sha256Hex } from "./scorer.ts";
import type { UploadJob } from "./validator.ts";

declare global {
  namespace Cloudflare {
    interface Env {
      /** Optional override of MODEL_VALIDATION_WAIT_MS (milliseconds). */
      MODEL_VALIDATION_WAIT_MS?: string;
    }
  }
}

/** How long an upload waits for its validation before answering 202. */
export const MODEL_VALIDATION_WAIT_MS = 2_000;
/** Longest wait a client may ask for with `Prefer: wait=`. */
const MAX_PREFERRED_WAIT_MS = 60_000;

/** Milliseconds this request waits for the validation (Prefer header, else the environment's). */
export function validationWaitMs(prefer: string | undefined, env: Pick<Env, "MODEL_VALIDATION_WAIT_MS">): number {
  const preferences = (prefer ?? "").split(/[,;]/).map((p) => p.trim().toLowerCase());
  if (preferences.includes("respond-async")) return 0;
  const wait = preferences.map((p) => /^wait=(\d{1,6})$/.exec(p)?.[1]).find((w) => w !== undefined);
  if (wait !== undefined) return Math.min(Number(wait) * 1000, MAX_PREFERRED_WAIT_MS);
  const configured = Number(env.MODEL_VALIDATION_WAIT_MS);
  return env.MODEL_VALIDATION_WAIT_MS !== undefined && env.MODEL_VALIDATION_WAIT_MS !== "" && Number.isFinite(configured) && configured >= 0 ? configured : MODEL_VALIDATION_WAIT_MS;
}

/** Where an upload's status is read. */
export const statusUrl = (sha256: string) => `/admin/models/uploads/${sha256}`;

function validator(env: Env, sha256: string) {
  return env.MODEL_VALIDATOR.get(env.MODEL_VALIDATOR.idFromName(sha256));
}

/** Hands the bytes to the validator and answers the upload (201/200/422, or 202 while validating). */
export async function uploadModel(c: Context<AppEnv>, bytes: Uint8Array, actor: string): Promise<Response> {
  const sha256 = await sha256Hex(bytes);
  const stub = validator(c.env, sha256);
  await stub.start(bytes, sha256, actor);
  const job = (await stub.wait(validationWaitMs(c.req.header("prefer"), c.env))) as UploadJob | undefined;
  if (!job) throw new Error(`the validator of ${sha256.slice(0, 12)} lost its job`);
  switch (job.status) {
    case "accepted":
      return c.json({ ...job.model, created: job.created, report: job.report }, job.created ? 201 : 200);
    case "refused":
      // The one error shape, plus the report so every reason and measurement is visible.
      return c.json({ error: job.error, report: job.report }, 422);
    case "failed":
      throw new Error(job.error.message);
    case "validating": {
      const url = statusUrl(sha256);
      return c.json({ status: "validating", sha256, statusUrl: url, startedAt: job.startedAt }, 202, { location: url, "preference-applied": "respond-async" });
    }
  }
}

/** `GET /admin/models/uploads/:sha256`: the upload's job; 404 when no such upload was made. */
export async function uploadStatus(c: Context<AppEnv>, sha256: string): Promise<Response> {
  const job = (await validator(c.env, sha256).status()) as UploadJob | undefined;
  if (!job) throw new AppError("not_found", `no upload of a file with SHA-256 ${sha256}`);
  return c.json({ ...job, statusUrl: statusUrl(sha256) });
}
