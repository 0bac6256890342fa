import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { builtinId } from "../../worker/models/builtin.ts";
import { createModelRuntime, isolateModelRuntime, modelSourceFromEnv } from "../../worker/models/runtime.ts";
import type { ModelSelection, ScorerProvider } from "../../worker/ranking/active-model.ts";
import type { Scorer } from "../../worker/ranking/scorer.ts";
import { isolateWarmState, warmModels, warmOnFirstRequest } from "../../worker/warmup/warmup.ts";
import { call } from "./helpers.ts";

/** A tiny app with the warm-up in front, as createApp has it. */
function appWith(provider: (env: Env) => ScorerProvider, state = { started: false }) {
  return new Hono<{ Bindings: Env }>().use("*", warmOnFirstRequest(provider, state)).get("/", (c) => c.text("ok"));
}

async function get(app: ReturnType<typeof appWith>) {
  const ctx = createExecutionContext();
  const res = await app.fetch(new Request("http://nextbest.test/"), env, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

/** A provider that records what was asked and scored. */
function recording(fail = false) {
  const calls = { selects: 0, scored: [] as Array<{ version: string; rows: number; width: number }> };
  const scorer = (version: string, width: number): Scorer => ({
    version,
    manifest: { name: version, features: Array.from({ length: width }, (_, i) => `f${i}`), output: "probability" } as Scorer["manifest"],
    async score(features, rows) {
      calls.scored.push({ version, rows, width: features.length });
      return new Float32Array(rows);
    },
  });
  const provider: ScorerProvider = {
    async select(): Promise<ModelSelection> {
      calls.selects++;
      if (fail) throw new Error("no model");
      return { serving: scorer("champion", 3), arm: "champion", shadows: [scorer("shadow", 2)] };
    },
  };
  return { calls, provider };
}

describe("the first request of an isolate warms the models", () => {
  it("loads the serving model with the real runtime in the background, once", async () => {
    const runtime = createModelRuntime();
    let providers = 0;
    const app = appWith((e) => (providers++, runtime.provider(modelSourceFromEnv(e))));
    expect(runtime.loaded()).toEqual([]);
    expect(await (await get(app)).text()).toBe("ok");
    // After the answer (waitUntil), the default model's session is in memory.
    expect(runtime.loaded()).toEqual([await builtinId()]);
    await get(app);
    expect(providers).toBe(1);
  });

  it("scores one row with every model a decide would use (serving and shadows)", async () => {
    const { calls, provider } = recording();
    await warmModels(provider);
    expect(calls).toEqual({ selects: 1, scored: [{ version: "champion", rows: 1, width: 3 }, { version: "shadow", rows: 1, width: 2 }] });
  });

  it("never fails the request when warming fails", async () => {
    const { calls, provider } = recording(true);
    const app = appWith(() => provider);
    const res = await get(app);
    expect(res.status).toBe(200);
    expect(calls.selects).toBe(1);
  });

  it("is wired into the Worker: a /healthz on a fresh isolate starts it", async () => {
    isolateWarmState.started = false;
    expect((await call("/healthz")).status).toBe(200);
    expect(isolateWarmState.started).toBe(true);
    await expect.poll(async () => isolateModelRuntime.loaded().includes(await builtinId()), { timeout: 120_000 }).toBe(true);
  });
});
