import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { builtinId } from "../../worker/models/builtin.ts";
import { modelKey } from "../../worker/models/registry.ts";
import { isolateModelRuntime } from "../../worker/models/runtime.ts";
import { call, decideOk } from "./helpers.ts";
import { linearModel } from "./models-fixtures.ts";
import { adminCall, adminOk, heroFor, shoesShopper, treatedVisitors, upload, uploadOk } from "./models-helpers.ts";

/** On the shoes page, −10 on page_category_match makes the shoes block the worst: every other
 * hero block gets p = 0.5, and p × value picks hero-jackets-rain (value 80). */
const antiMatch = () => linearModel(["page_category_match"], [-10], 0, "anti-match");

interface Deployment {
  revision: number;
  champion: { id: string; version: string };
  challenger: { id: string; version: string; percent: number } | null;
  shadows: Array<{ id: string; version: string }>;
  previousChampions: Array<{ id: string; version: string }>;
  updatedBy: string | null;
}

let visitorSeq = 0;
/** A fresh treated visitor per decide, so frequency caps never interfere. */
const visitor = () => treatedVisitors(`life-${visitorSeq++}`, 1)[0]!;

afterEach(async () => {
  // Back to "nothing changed yet": the default model is the champion again.
  await env.DB.prepare("DELETE FROM model_deployments").run();
  isolateModelRuntime.invalidate();
});

describe("the shipped default model", () => {
  it("is the champion before any change, listed as built in", async () => {
    const { deployment, models } = await adminOk<{ deployment: Deployment; models: Array<{ id: string; status: string; uploadedBy: string }> }>("");
    expect(deployment).toMatchObject({ revision: 0, challenger: null, shadows: [], previousChampions: [], updatedBy: null });
    expect(deployment.champion.id).toBe(await builtinId());
    expect(deployment.champion.version).toMatch(/^nextbest-default@[0-9a-f]{12}$/);
    expect(models).toContainEqual(expect.objectContaining({ id: await builtinId(), status: "champion", uploadedBy: "nextbest (built in)" }));
    expect((await heroFor(visitor())).modelVersion).toBe(deployment.champion.version);
  });
});

describe("upload → activate → decisions → rollback", () => {
  it("serves the activated model's ranking under its version, and rollback restores the default", async () => {
    const res = await upload(antiMatch(), { "x-nextbest-actor": "alice@example.com" });
    expect(res.status).toBe(201);
    const model = await res.json<{ id: string; version: string; status: string; created: boolean; uploadedBy: string; report: { ok: boolean; inference: { meanMs: number } } }>();
    expect(model.id).toMatch(/^[0-9a-f]{64}$/);
    expect(model).toMatchObject({ version: `anti-match@${model.id.slice(0, 12)}`, status: "available", created: true, uploadedBy: "alice@example.com" });
    expect(model.report.ok).toBe(true);
    expect(await env.MODELS.head(modelKey(model.id))).not.toBeNull();

    // Uploaded is not served.
    const before = await heroFor(visitor());
    expect(before.block.id).toBe("hero-shoes-trail");
    expect(before.modelVersion).toMatch(/^nextbest-default@/);

    const activated = await adminOk<{ changed: boolean; deployment: Deployment }>(`/${model.id}/activate`, "POST", undefined, { "x-nextbest-actor": "bob" });
    expect(activated.changed).toBe(true);
    expect(activated.deployment).toMatchObject({ revision: 1, champion: { id: model.id, version: model.version }, updatedBy: "bob" });
    expect(activated.deployment.previousChampions.map((p) => p.id)).toEqual([await builtinId()]);

    const after = await heroFor(visitor());
    expect(after).toMatchObject({ reason: "ranked", modelVersion: model.version, block: { id: "hero-jackets-rain" } });
    expect(after.score).toBeCloseTo(0.5, 5);

    const detail = await adminOk<{ status: string; uploadedBy: string; history: Array<{ action: string; actor: string; at: number }> }>(`/${model.id}`);
    expect(detail).toMatchObject({ status: "champion", uploadedBy: "alice@example.com" });
    expect(detail.history).toEqual([expect.objectContaining({ action: "activate", actor: "bob" })]);

    const rolledBack = await adminOk<{ deployment: Deployment }>("/rollback", "POST");
    expect(rolledBack.deployment.champion.id).toBe(await builtinId());
    expect(rolledBack.deployment.previousChampions).toEqual([]);
    const restored = await heroFor(visitor());
    expect(restored.block.id).toBe("hero-shoes-trail");
    expect(restored.modelVersion).toMatch(/^nextbest-default@/);

    // Nothing left to roll back to.
    const again = await adminCall("/rollback", "POST");
    expect(again.status).toBe(409);
    expect((await again.json<{ error: { code: string } }>()).error.code).toBe("conflict");
  });

  it("rolls back through several champions in order", async () => {
    const a = await uploadOk(linearModel(["block_promo"], [1], 0, "model-a"));
    const b = await uploadOk(linearModel(["block_promo"], [2], 0, "model-b"));
    await adminOk(`/${a.id}/activate`, "POST");
    await adminOk(`/${b.id}/activate`, "POST");
    expect((await heroFor(visitor())).modelVersion).toBe(b.version);
    expect((await adminOk<{ deployment: Deployment }>("/rollback", "POST")).deployment.champion.id).toBe(a.id);
    expect((await heroFor(visitor())).modelVersion).toBe(a.version);
    expect((await adminOk<{ deployment: Deployment }>("/rollback", "POST")).deployment.champion.id).toBe(await builtinId());
  });

  it("is idempotent: the same bytes again are the same model", async () => {
    const bytes = () => linearModel(["block_promo", "block_general"], [0.3, -0.2], 0.1, "idempotent");
    const first = await upload(bytes());
    const second = await upload(bytes());
    expect([first.status, second.status]).toEqual([201, 200]);
    const [a, b] = [await first.json<{ id: string }>(), await second.json<{ id: string; created: boolean }>()];
    expect(b).toMatchObject({ id: a.id, created: false });
    const { models } = await adminOk<{ models: Array<{ id: string }> }>("");
    expect(models.filter((m) => m.id === a.id)).toHaveLength(1);
    // Re-activating the champion changes nothing.
    await adminOk(`/${a.id}/activate`, "POST");
    expect((await adminOk<{ changed: boolean }>(`/${a.id}/activate`, "POST")).changed).toBe(false);
  });

  it("names a model by the 12 hex digits of its modelVersion too", async () => {
    const { id } = await uploadOk(antiMatch());
    expect((await adminOk<{ id: string }>(`/${id.slice(0, 12)}`)).id).toBe(id);
  });
});

describe("admin errors", () => {
  it.each([
    { name: "no token", headers: {} as Record<string, string> },
    { name: "a wrong token", headers: { authorization: "Bearer not-the-token" } },
  ])("answers 401 with $name and stores nothing", async ({ headers }) => {
    const bytes = linearModel(["block_general"], [3], 0, "unauthorised");
    const res = await call("/admin/models", { method: "POST", headers: { "content-type": "application/octet-stream", ...headers }, body: bytes });
    expect(res.status).toBe(401);
    const id = [...new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))].map((x) => x.toString(16).padStart(2, "0")).join("");
    expect(await env.MODELS.head(modelKey(id))).toBeNull();
    expect(await env.DB.prepare("SELECT id FROM models WHERE id = ?").bind(id).first()).toBeNull();
    for (const path of ["", `/${id}`, "/rollback", `/${id}/activate`, `/${id}/shadow`]) {
      const r = await call(`/admin/models${path}`, { method: path.includes("/") && path !== `/${id}` ? "POST" : "GET", headers });
      expect(r.status).toBe(401);
    }
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM model_deployments").first("n")).toBe(0);
  });

  it("refuses a body over the size limit with 413", async () => {
    const res = await upload(new Uint8Array(20 * 1024 * 1024 + 1));
    expect(res.status).toBe(413);
    expect((await res.json<{ error: { code: string } }>()).error.code).toBe("payload_too_large");
  });

  it.each<{ name: string; path: string; method: string; init: { headers?: Record<string, string>; body?: string }; status: number; code: string }>([
    { name: "JSON content type", path: "", method: "POST", init: { headers: { "content-type": "application/json" }, body: "{}" }, status: 415, code: "unsupported_media_type" },
    { name: "an unknown model", path: `/${"a".repeat(64)}/activate`, method: "POST", init: {}, status: 404, code: "not_found" },
    { name: "an id that is not hex", path: "/not-an-id", method: "GET", init: {}, status: 400, code: "invalid_request" },
    { name: "a percent over 100", path: `/${"b".repeat(64)}/challenger`, method: "POST", init: { headers: { "content-type": "application/json" }, body: '{"percent":101}' }, status: 400, code: "invalid_request" },
    { name: "a bad actor label", path: "/rollback", method: "POST", init: { headers: { "x-nextbest-actor": "<script>" } }, status: 400, code: "invalid_request" },
  ])("$name → $status $code", async ({ path, method, init, status, code }) => {
    const res = await call(`/admin/models${path}`, { method, ...init, headers: { authorization: "Bearer test-admin-token", ...(init.headers ?? {}) } });
    expect(res.status).toBe(status);
    expect((await res.json<{ error: { code: string } }>()).error.code).toBe(code);
  });

  it("still decides for the same visitor key with the default model after all that", async () => {
    const { decisions } = await decideOk(shoesShopper(visitor(), ["hero", "sidebar"]));
    expect(decisions.every((d) => d.reason === "ranked" && /^nextbest-default@/.test(d.modelVersion ?? ""))).toBe(true);
  });
});
