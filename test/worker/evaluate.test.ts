import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { mulberry32 } from "../../models/prng.ts";
import { kvCatalogStore } from "../../worker/catalog/store.ts";
import { builtinId } from "../../worker/models/builtin.ts";
import { loadDefaultScorer } from "../../worker/ranking/active-model.ts";
import { ADMIN, auditRecord, insertEvent, writeAudit } from "./audit-fixtures.ts";
import { call } from "./helpers.ts";

const T0 = 1_767_000_000_000;
const N = 300;

function evaluate(id: string, body: unknown): Promise<Response> {
  return call(`/admin/models/${encodeURIComponent(id)}/evaluate`, {
    method: "POST",
    headers: { ...ADMIN, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

/**
 * Logged traffic under a uniformly random policy over the hero blocks, with the default model's
 * features; a click when the visitor's random "interest" block was served.
 */
const logged = (async () => {
  const scorer = await loadDefaultScorer();
  const catalog = await kvCatalogStore(env.CONFIG).get();
  const hero = catalog.blocks.filter((b) => b.slots.includes("hero")).map((b) => b.id);
  const rng = mulberry32(5);
  const decisions = [];
  for (let i = 0; i < N; i++) {
    const features = hero.map(() => scorer.manifest.features.map(() => (rng() < 0.3 ? 1 : 0)));
    const chosen = Math.floor(rng() * hero.length);
    const clicked = rng() < 0.5;
    decisions.push({
      record: await auditRecord({
        decisionId: `eval-${i}`,
        visitorId: `eval-v-${i}`,
        time: T0 + i,
        candidates: hero,
        featureNames: scorer.manifest.features,
        features,
        scores: hero.map(() => 0),
        chosenBlockId: hero[chosen]!,
        propensity: 1 / hero.length,
      }),
      clicked,
    });
  }
  await writeAudit(decisions.map((d) => d.record));
  for (const d of decisions) if (d.clicked) await insertEvent({ time: T0 + N, type: "click", decisionId: d.record.decisionId, visitorId: `eval-v-${d.record.decisionId.slice(5)}` });
  return { decisions, scorer, values: new Map(catalog.blocks.map((b) => [b.id, b.value])), k: hero.length };
})();

describe("POST /admin/models/:id/evaluate", () => {
  it("replays logged decisions through the model: IPS and SNIPS match a hand computation", async () => {
    const { decisions, scorer, values, k } = await logged;
    // By hand: the model's greedy choice (probability × value, ties to the smaller id) per decision.
    let ipsSum = 0;
    let matches = 0;
    for (const { record, clicked } of decisions) {
      const rows = record.candidates.length;
      const scores = await scorer.score(Float32Array.from(record.features.flat()), rows);
      let best = 0;
      for (let r = 1; r < rows; r++) {
        const rank = (i: number) => scores[i]! * values.get(record.candidates[i]!)!;
        if (rank(r) > rank(best) || (rank(r) === rank(best) && record.candidates[r]! < record.candidates[best]!)) best = r;
      }
      if (record.candidates[best] === record.chosenBlockId) {
        matches++;
        if (clicked) ipsSum += k; // weight 1 / (1/k)
      }
    }
    const res = await evaluate("default", { from: T0, to: T0 + N, reward: "click" });
    expect(res.status).toBe(200);
    const body = await res.json<Record<string, any>>();
    expect(body.model.version).toBe(scorer.version);
    expect(body).toMatchObject({ logged: N, evaluated: N, skipped: {}, reward: "click", policy: { type: "greedy" } });
    expect(body.ips.estimate).toBeCloseTo(ipsSum / N, 12);
    expect(body.snips.estimate).toBeCloseTo(ipsSum / (matches * k), 12);
    expect(body.effectiveSampleSize).toBeCloseTo(matches, 9);
    expect(body.agreement).toBeCloseTo(matches / N, 12);
    expect(body.loggedPolicy.estimate).toBeCloseTo(decisions.filter((d) => d.clicked).length / N, 12);
    for (const e of [body.ips, body.snips, body.dr, body.loggedPolicy]) expect(e.low).toBeLessThanOrEqual(e.high);
    console.log(`evaluate default on ${N} logged decisions: IPS ${body.ips.estimate.toFixed(3)}, SNIPS ${body.snips.estimate.toFixed(3)}, DR ${body.dr.estimate.toFixed(3)}, logged ${body.loggedPolicy.estimate.toFixed(3)}, ESS ${body.effectiveSampleSize.toFixed(1)}`);
  });

  it("evaluates a softmax version of the model, and the model's own version string as its id", async () => {
    const { scorer } = await logged;
    const res = await evaluate(scorer.version, { from: T0, to: T0 + N, policy: { type: "softmax", temperature: 5 } });
    expect(res.status).toBe(200);
    const body = await res.json<{ effectiveSampleSize: number; evaluated: number }>();
    // A softer policy overlaps the uniform logging policy more: more effective samples.
    expect(body.effectiveSampleSize).toBeGreaterThan(N / 5);
  });

  it("loads registered models by id prefix through the registry", async () => {
    const { scorer } = await logged;
    const res = await evaluate((await builtinId()).slice(0, 12), { from: T0, to: T0 + N });
    expect(res.status).toBe(200);
    const body = await res.json<{ model: { version: string }; evaluated: number }>();
    expect(body).toMatchObject({ model: { version: scorer.version }, evaluated: N });
  });

  it("refuses (422) logs without propensities", async () => {
    const t = T0 + 10_000;
    await writeAudit([await auditRecord({ time: t, propensity: null }), await auditRecord({ time: t + 1 })]);
    const res = await evaluate("default", { from: t, to: t + 2 });
    expect(res.status).toBe(422);
    const { error } = await res.json<{ error: { code: string; message: string } }>();
    expect(error.code).toBe("missing_propensity");
    expect(error.message).toContain("1 of 2");
  });

  it("skips decisions whose logged features do not cover the model, and says so", async () => {
    const t = T0 + 20_000;
    await writeAudit([await auditRecord({ time: t })]); // logged with two features only
    const res = await evaluate("default", { from: t, to: t + 1 });
    expect(res.status).toBe(422);
    expect((await res.json<{ error: { code: string; message: string } }>()).error).toMatchObject({ code: "insufficient_data", message: expect.stringContaining("features_not_logged") });
  });

  it.each([
    { name: "unknown model", id: "nope", body: {}, status: 404, code: "not_found" },
    { name: "empty window", id: "default", body: { from: 1, to: 2 }, status: 422, code: "insufficient_data" },
    { name: "softmax without temperature", id: "default", body: { policy: { type: "softmax" } }, status: 400, code: "invalid_request" },
    { name: "unknown reward", id: "default", body: { reward: "likes" }, status: 400, code: "invalid_request" },
  ])("$name → $status", async ({ id, body, status, code }) => {
    const res = await evaluate(id, body);
    expect(res.status).toBe(status);
    expect((await res.json<{ error: { code: string } }>()).error.code).toBe(code);
  });
});
