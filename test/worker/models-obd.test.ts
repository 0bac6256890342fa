import { env } from "cloudflare:workers";
import { afterAll, describe, expect, it } from "vitest";
import obdModel from "../fixtures/models/obd-affinity.onnx";
import { isolateModelRuntime } from "../../worker/models/runtime.ts";
import { decideOk } from "./helpers.ts";
import { adminOk, treatedVisitors, uploadOk } from "./models-helpers.ts";

afterAll(async () => {
  await env.DB.prepare("DELETE FROM model_deployments").run();
  isolateModelRuntime.invalidate();
});

/** A home-page visitor, optionally with the site's affinity signals (`affinity.<blockId>`). */
const homeVisitor = (visitorId: string, signals: Record<string, number> = {}) => ({
  visitorId,
  slots: ["hero"],
  consent: { personalization: true },
  context: { signals: { pageType: "home", visitCount: 3, ...signals } },
});

describe("a model trained on the Open Bandit Dataset by npm run train", () => {
  // test/fixtures/models/obd-affinity.onnx: `npm run train` on all four OBD files converted by
  // models/obd-to-export.ts (test/node/obd-train.test.ts checks it is that model).
  it("is accepted, served, and ranks by the visitor's affinity signal", async () => {
    const uploaded = await uploadOk(new Uint8Array(obdModel), { "x-nextbest-actor": "data-science" });
    expect(uploaded).toMatchObject({ created: true, report: { ok: true, manifest: { name: "obd-affinity", features: ["block_affinity_log"] } } });
    await adminOk(`/${uploaded.id}/activate`, "POST");
    const [a, b] = treatedVisitors("obd", 2);

    // No affinity anywhere: every block gets the same small probability; value decides.
    const plain = (await decideOk(homeVisitor(a!))).decisions[0]!;
    expect(plain).toMatchObject({ modelVersion: uploaded.version, block: { id: "hero-jackets-rain" } });
    expect(plain.score).toBeLessThan(0.01);

    // Three past clicks on the bags block: ~0.7 × 55 beats ~0.005 × 80.
    const withAffinity = (await decideOk(homeVisitor(b!, { "affinity.hero-bags-travel": 3 }))).decisions[0]!;
    expect(withAffinity).toMatchObject({ modelVersion: uploaded.version, block: { id: "hero-bags-travel" } });
    expect(withAffinity.score).toBeGreaterThan(0.5);
  });
});
