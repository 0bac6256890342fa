import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { offPolicyEstimates } from "../../worker/evaluation/estimators.ts";
import { obdToLoggedDecisions } from "../../worker/evaluation/obd.ts";
import { replaySamples, type TargetAnswer } from "../../worker/evaluation/replay.ts";

// The Open Bandit Dataset sample committed as a test fixture (test/fixtures/obd, Apache-2.0; see its README).
const OBD = new URL("../fixtures/obd/", import.meta.url);

describe.each([
  // Counted from the files (test/fixtures/obd/README.md).
  { policy: "random", campaign: "men", clicks: 46 },
  { policy: "random", campaign: "women", clicks: 46 },
  { policy: "bts", campaign: "men", clicks: 69 },
  { policy: "bts", campaign: "women", clicks: 46 },
])("OBD $policy/$campaign imported as logged decisions", ({ policy, campaign, clicks }) => {
  const decisions = obdToLoggedDecisions(
    readFileSync(new URL(`${policy}/${campaign}/${campaign}.csv`, OBD), "utf8"),
    readFileSync(new URL(`${policy}/${campaign}/item_context.csv`, OBD), "utf8"),
    { policy, campaign },
  );

  it("keeps every impression with its propensity and click", () => {
    expect(decisions).toHaveLength(10_000);
    expect(decisions.every((d) => d.propensity! > 0 && d.propensity! <= 1)).toBe(true);
    expect(decisions.reduce((n, d) => n + d.outcomes.click, 0)).toBe(clicks);
  });

  it("IPS of the logging policy on its own logs equals the observed click rate exactly", () => {
    // The target policy is the logging policy: it picks the logged item with the logged propensity.
    const answers: TargetAnswer[] = decisions.map((d) => ({
      probabilities: d.candidates.map((c) => (c.blockId === d.chosenBlockId ? d.propensity! : 0)),
    }));
    const { samples } = replaySamples(decisions, answers, "click");
    const estimates = offPolicyEstimates(samples);
    expect(estimates.ips.estimate).toBe(clicks / 10_000);
    expect(estimates.logged.estimate).toBe(clicks / 10_000);
    expect(estimates.effectiveSampleSize).toBeCloseTo(10_000, 6);
  });
});
