// The next-action core with a deterministic scorer: the model's propensities per action come from
// the customer's traits through declared features (worker/ranking/declared.ts), so the model, not
// only the value, chooses the channel. The route with the real model is next-action.test.ts.
import { describe, expect, it } from "vitest";
import { actionCatalogSchema } from "../../worker/actions/schema.ts";
import type { ProfileTraits } from "../../worker/identity/schema.ts";
import { decideNextAction } from "../../worker/next-action/decide.ts";
import { nextActionRecord } from "../../worker/next-action/log.ts";
import type { ReserveInput } from "../../worker/next-action/contact-store.ts";
import type { ModelManifest } from "../../worker/ranking/manifest.ts";
import type { Scorer } from "../../worker/ranking/scorer.ts";
import { emptyCounts } from "../../worker/send-time/shrinkage.ts";

/** Scores 0.1 + 0.8 × (the customer's tier equals the action's `audience` attribute). */
const tierScorer: Scorer = {
  version: "tier-test@000000000000",
  manifest: {
    version: 1,
    name: "tier-test",
    output: "probability",
    features: ["tier_match"],
    declarations: { tier_match: { kind: "block_match", signal: "profile.tier", attribute: "attributes.audience" } },
  } as ModelManifest,
  async score(features, rows) {
    return Float32Array.from({ length: rows }, (_, i) => 0.1 + 0.8 * features[i]!);
  },
};

const catalog = actionCatalogSchema.parse({
  actions: [
    { id: "gold-email", channel: "email", contentRef: "tpl-gold", value: 1, attributes: { audience: "gold" } },
    { id: "silver-push", channel: "push", contentRef: "push-silver", value: 1, attributes: { audience: "silver" } },
  ],
});
const contact = { timeZone: "UTC", marketing: true, optIns: { email: true, push: true }, reachable: { email: true, push: true } };
/** The contact policy's double: admits every candidate and picks the best rank. */
const reserveBest = async (input: ReserveInput) => {
  const index = input.candidates.reduce((best, c, i, all) => (c.rank > all[best]!.rank ? i : best), 0);
  return { chosen: { index, propensity: 1, explored: false }, excluded: [] };
};
const now = Date.parse("2026-06-03T09:00:00Z");

async function decideFor(tier: string) {
  const traits = { tier, contact } as ProfileTraits;
  return decideNextAction(
    { decisionId: `d-${tier}`, customerKey: "k".repeat(32), triggerAt: now, now, catalog, traits, counts: emptyCounts(), population: emptyCounts(), holdout: false },
    { scorer: async () => tierScorer, reserve: reserveBest, salt: "test", epsilon: 0 },
  );
}

describe("next-action: the model reads the customer's traits", () => {
  it.each([
    ["gold", "gold-email", "email", { "gold-email": 0.9, "silver-push": 0.1 }],
    ["silver", "silver-push", "push", { "gold-email": 0.1, "silver-push": 0.9 }],
  ])("a %s customer gets %s (%s)", async (tier, actionId, channel, scores) => {
    const r = await decideFor(tier);
    expect(r.action?.id).toBe(actionId);
    expect(r.action?.channel).toBe(channel);
    expect(r.modelVersion).toBe(tierScorer.version);
    for (const [id, score] of Object.entries(scores)) expect(r.scores[id]).toBeCloseTo(score, 6);
    expect(r.channelPropensities[channel]).toBeCloseTo(0.9, 6);
    expect(r.reasons).toContain("ranked");
    // The audit record logs the float32 scores in their shortest form (0.9, not 0.8999999761581421).
    const record = nextActionRecord(r, { customerKey: "k".repeat(32), moment: undefined, triggerAt: now, now, holdout: false, scheduled: false, catalogVersion: 1, latencyMs: 0, hashVersion: "v1" });
    expect(r.scores[actionId]).not.toBe(0.9);
    expect(Object.fromEntries(record.candidates.map((id, i) => [id, record.scores[i]]))).toEqual(scores);
    expect(record.nextAction!.channelPropensities).toEqual({ email: scores["gold-email"], push: scores["silver-push"] });
  });
});
