/**
 * Issue 12 §9: model uploads are validated off the serving path (the ModelValidator Durable
 * Object). A large valid model (99,000 nodes) answers 202 with a status URL, decides keep their
 * normal answers while it is validated, and the status URL then shows it accepted. Behaviour
 * only: no latency is asserted (npm run bench measures speed).
 */
import { describe, expect, it } from "vitest";
import { validationWaitMs } from "../../worker/models/upload.ts";
import type { UploadJob } from "../../worker/models/validator.ts";
import { sha256Hex } from "../../worker/models/scorer.ts";
import { buildModel, floats, linearModel, manifestOf, tensor } from "./models-fixtures.ts";
import { adminOk, AUTH, heroFor, treatedVisitors, upload } from "./models-helpers.ts";
import { call } from "./helpers.ts";

const two = ["page_category_match", "block_promo"];

/** A valid logistic regression followed by a chain of Identity nodes: `nodes` in all. */
function largeModel(nodes: number): Uint8Array {
  const chain = Array.from({ length: nodes - 3 }, (_, i) => ({ opType: "Identity", input: [i === 0 ? "p" : `t${i - 1}`], output: [i === nodes - 4 ? "score" : `t${i}`] }));
  return buildModel({
    manifest: manifestOf(two, "probability", "large-chain"),
    nodes: [
      { opType: "MatMul", input: ["features", "W"], output: ["z0"] },
      { opType: "Add", input: ["z0", "B"], output: ["z"] },
      { opType: "Sigmoid", input: ["z"], output: ["p"] },
      ...chain,
    ],
    initializers: [floats("W", [2, 1], [1, 0.25]), floats("B", [1], [-0.5])],
    inputs: [tensor("features", ["N", 2])],
    outputs: [tensor("score", ["N", 1])],
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function status(url: string): Promise<UploadJob & { statusUrl: string }> {
  const res = await call(url, { headers: AUTH });
  expect(res.status).toBe(200);
  return res.json();
}

/** Polls the status URL until the job is finished. */
async function settled(url: string): Promise<UploadJob> {
  for (;;) {
    const job = await status(url);
    if (job.status !== "validating") return job;
    await sleep(250);
  }
}

describe("how long an upload waits (Prefer, RFC 7240)", () => {
  it.each([
    { prefer: undefined, env: {}, want: 2_000 },
    { prefer: undefined, env: { MODEL_VALIDATION_WAIT_MS: "500" }, want: 500 },
    { prefer: "respond-async", env: { MODEL_VALIDATION_WAIT_MS: "500" }, want: 0 },
    { prefer: "respond-async, wait=10", env: {}, want: 0 },
    { prefer: "wait=5", env: {}, want: 5_000 },
    { prefer: "wait=3600", env: {}, want: 60_000 },
    { prefer: "handling=strict", env: { MODEL_VALIDATION_WAIT_MS: "nonsense" }, want: 2_000 },
  ])("Prefer: $prefer, $env → $want ms", ({ prefer, env, want }) => {
    expect(validationWaitMs(prefer, env)).toBe(want);
  });
});

describe("model validation off the serving path", () => {
  it("a 99,000-node model answers 202 with a status URL, decides keep their answers meanwhile, then it is accepted", async () => {
    const deployment = await adminOk<{ champion: { version: string } }>("/deployment");
    const visitors = treatedVisitors("async-upload", 8);
    const before = await heroFor(visitors[0]!);
    expect(before).toMatchObject({ reason: "ranked", modelVersion: deployment.champion.version });

    const bytes = largeModel(99_000);
    const sha256 = await sha256Hex(bytes);
    const res = await upload(bytes, { prefer: "respond-async" });
    expect(res.status).toBe(202);
    const accepted = await res.json<{ status: string; sha256: string; statusUrl: string }>();
    expect(accepted).toMatchObject({ status: "validating", sha256, statusUrl: `/admin/models/uploads/${sha256}` });
    expect(res.headers.get("location")).toBe(accepted.statusUrl);

    // Decides sent while the model is being validated get the same answers as before it.
    const [health, ...during] = await Promise.all([call("/healthz"), ...visitors.slice(1, 7).map((v) => heroFor(v))]);
    expect(health.status).toBe(200);
    for (const d of during) expect(d).toMatchObject({ reason: "ranked", block: { id: before.block.id }, modelVersion: deployment.champion.version });

    const job = await settled(accepted.statusUrl);
    expect(job).toMatchObject({ status: "accepted", sha256, created: true, model: { id: sha256, name: "large-chain", status: "available" } });
    if (job.status !== "accepted") throw new Error("not accepted");
    expect(job.report).toMatchObject({ ok: true, model: { nodes: 99_000 } });
    expect(job.finishedAt).toBeGreaterThanOrEqual(job.startedAt);
    // Registered like any model; uploading the same bytes again is the same model (200).
    expect(await adminOk(`/${sha256}`)).toMatchObject({ id: sha256, name: "large-chain" });
    const again = await upload(bytes);
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ id: sha256, created: false });
    // Registering does not deploy: decides still use the champion.
    expect(await heroFor(visitors[7]!)).toMatchObject({ reason: "ranked", modelVersion: deployment.champion.version });
  });

  it("a small model within the wait answers 201 synchronously, as before", async () => {
    const res = await upload(linearModel(two, [0.7, 0.1], -0.2, "sync-small"));
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ created: true, name: "sync-small", report: { ok: true } });
  });

  it("a refused upload shows its reasons on the status URL", async () => {
    const bytes = new TextEncoder().encode('{"model": "logreg", "async": true}');
    const sha256 = await sha256Hex(bytes);
    const res = await upload(bytes, { prefer: "respond-async" });
    // A refusal found before the answer is a 422 at once; otherwise 202 and the status URL.
    expect([202, 422]).toContain(res.status);
    const job = await settled(`/admin/models/uploads/${sha256}`);
    expect(job).toMatchObject({ status: "refused", error: { code: "unprocessable_model" }, report: { ok: false, reasons: [{ code: "not_onnx" }] } });
  });

  it("an unknown upload is a 404, a malformed hash a 400", async () => {
    expect((await call(`/admin/models/uploads/${"0".repeat(64)}`, { headers: AUTH })).status).toBe(404);
    expect((await call("/admin/models/uploads/xyz", { headers: AUTH })).status).toBe(400);
    expect((await call(`/admin/models/uploads/${"0".repeat(64)}`)).status).toBe(401);
  });
});
