/**
 * Model validation off the serving path (issue 12 §9): a Durable Object, one per uploaded file
 * (named by its SHA-256), validates and registers the model; `POST /admin/models` hands it the
 * bytes and waits for the outcome only a short while (worker/models/upload.ts).
 *
 * Why a Durable Object rather than a queue consumer: parsing a 100,000-node graph and creating an
 * onnxruntime session are seconds of synchronous CPU. A queue consumer of this Worker runs in the
 * same isolates that answer decides (the log consumer in worker/pipeline/ does), so it would
 * stall them just the same. A Durable Object runs where the object lives, in an isolate shared at
 * most with other objects (https://developers.cloudflare.com/durable-objects/concepts/what-are-durable-objects/),
 * so the isolates serving decides never load the model. It also gives the upload one place that
 * holds its status (`GET /admin/models/uploads/:sha256`), deduplicates concurrent uploads of the
 * same bytes (one object per hash), and needs no message size work-around (a queue message holds
 * 128 KB; a model up to 20 MB travels as one RPC argument, limit 32 MiB).
 *
 * Locally `wrangler dev` runs every isolate on one workerd process: decides still answer
 * normally during a validation, interleaved with it rather than beside it.
 */
import { DurableObject } from "cloudflare:workers";
import { AppError } from "../errors/app-error.ts";
import type { ValidationReport } from "./report.ts";
import { limitsFromEnv } from "./limits.ts";
import { d1ModelRegistry, r2ModelFiles } from "./registry.ts";
import { modelAdmin, ModelRefused, type ModelView } from "./service.ts";

/** What an upload has come to; `GET /admin/models/uploads/:sha256` answers it. */
export type UploadJob =
  | { status: "validating"; sha256: string; startedAt: number }
  | { status: "accepted"; sha256: string; startedAt: number; finishedAt: number; created: boolean; model: ModelView; report: ValidationReport }
  | { status: "refused"; sha256: string; startedAt: number; finishedAt: number; error: { code: string; message: string }; report: ValidationReport }
  | { status: "failed"; sha256: string; startedAt: number; finishedAt: number; error: { code: string; message: string } };

const JOB_KEY = "job";

export class ModelValidator extends DurableObject<Env> {
  /** The validation in progress in this instance of the object, if any. */
  private running?: Promise<UploadJob>;

  /**
   * Starts validating `bytes` (whose SHA-256 names this object) unless that is already under
   * way; answers the job as it stands. A finished job is run again: the registry answers a
   * model already registered at once (`created: false`).
   */
  async start(bytes: Uint8Array, sha256: string, actor: string): Promise<UploadJob> {
    if (this.running) return (await this.stored()) ?? { status: "validating", sha256, startedAt: Date.now() };
    const job: UploadJob = { status: "validating", sha256, startedAt: Date.now() };
    await this.ctx.storage.put(JOB_KEY, job);
    const run = this.validate(bytes, job, actor);
    this.running = run;
    this.ctx.waitUntil(run);
    void run.finally(() => {
      if (this.running === run) this.running = undefined;
    });
    return job;
  }

  /** The job once it is finished, or as it stands after `waitMs` milliseconds. */
  async wait(waitMs: number): Promise<UploadJob | undefined> {
    const running = this.running;
    if (running && waitMs > 0) {
      let timer: number | undefined;
      const done = await Promise.race([running, new Promise<undefined>((resolve) => (timer = setTimeout(resolve, waitMs)))]);
      clearTimeout(timer);
      if (done) return done;
    }
    return this.status();
  }

  /** The job, or undefined when this object never received an upload. */
  async status(): Promise<UploadJob | undefined> {
    const job = await this.stored();
    if (job?.status === "validating" && !this.running) {
      // The object was restarted (evicted, redeployed) during the validation: the bytes are gone.
      const failed: UploadJob = { ...job, status: "failed", finishedAt: Date.now(), error: { code: "validation_interrupted", message: "the validation was interrupted; upload the file again" } };
      await this.ctx.storage.put(JOB_KEY, failed);
      return failed;
    }
    return job;
  }

  private stored(): Promise<UploadJob | undefined> {
    return this.ctx.storage.get<UploadJob>(JOB_KEY);
  }

  private async validate(bytes: Uint8Array, job: UploadJob, actor: string): Promise<UploadJob> {
    const base = { sha256: job.sha256, startedAt: job.startedAt };
    let done: UploadJob;
    try {
      const admin = modelAdmin({
        registry: d1ModelRegistry(this.env.DB),
        files: r2ModelFiles(this.env.MODELS),
        // Registering changes no deployment: nothing to invalidate.
        invalidate: () => undefined,
        now: Date.now,
        validation: { latencyBudgetMs: limitsFromEnv(this.env).latencyBudgetMs },
      });
      const { created, model, report } = await admin.upload(bytes, actor);
      done = { ...base, status: "accepted", finishedAt: Date.now(), created, model, report };
    } catch (err) {
      if (err instanceof ModelRefused) done = { ...base, status: "refused", finishedAt: Date.now(), error: { code: err.code, message: err.message }, report: err.report };
      else {
        console.error("model validation failed:", err);
        const code = err instanceof AppError ? err.code : "validation_failed";
        done = { ...base, status: "failed", finishedAt: Date.now(), error: { code, message: `the model could not be validated: ${err instanceof Error ? err.message : String(err)}`.slice(0, 500) } };
      }
    }
    await this.ctx.storage.put(JOB_KEY, done);
    return done;
  }
}
