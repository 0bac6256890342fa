import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { DecideResponse } from "../../worker/decide/schema.ts";
import { isHeldOut } from "../../worker/holdout/assign.ts";
import { call, postDecide } from "./helpers.ts";

const ADMIN = { authorization: "Bearer test-admin-token" };
const holdout = { rate: Number(env.HOLDOUT_RATE), salt: env.HOLDOUT_SALT };
let n = 0;
const visitor = (held: boolean) => {
  for (;;) {
    const id = `audit-wiring-${n++}`;
    if (isHeldOut(id, holdout) === held) return id;
  }
};

interface Row {
  decisionId: string;
  slot: string;
  candidates: string[];
  featureNames: string[];
  features: number[][];
  scores: number[];
  chosenBlockId: string;
  propensity: number;
  holdout: boolean;
  holdoutScope: string | null;
  counterfactualBlockId: string | null;
  modelVersion: string | null;
  excluded: Array<{ blockId: string; reason: string }>;
  consent: { personalization: boolean; analytics: boolean };
}

/**
 * The audit rows are queued after the answer and written by the log consumer (batches wait up to
 * a second): poll until they are there, with a deadline generous for a loaded machine.
 */
async function rowsOf(visitorId: string, expected: number): Promise<Row[]> {
  for (let i = 0; i < 600; i++) {
    const res = await call(`/admin/decisions?visitor=${visitorId}`, { headers: ADMIN });
    const body = await res.json<{ decisions: Row[] }>();
    if (body.decisions.length >= expected) return body.decisions;
    await new Promise((r) => setTimeout(r, 100));
  }
  return [];
}

const shoes = (visitorId: string, personalization = true) => ({
  visitorId,
  slots: ["hero", "sidebar"],
  consent: { personalization, analytics: true },
  context: { url: "https://shop.example/shoes.html", signals: { pageType: "category", pageCategory: "shoes", categoryViews: { shoes: 4 } } },
});

describe("every decision is written to the audit log", () => {
  it("one row per slot, with aligned candidates, features and scores of the serving model", async () => {
    const id = visitor(false);
    const { decisions } = await (await postDecide(shoes(id))).json<DecideResponse>();
    const rows = await rowsOf(id, 2);
    expect(rows.map((r) => r.decisionId).sort()).toEqual(decisions.map((d) => d.decisionId).sort());
    for (const row of rows) {
      const d = decisions.find((x) => x.decisionId === row.decisionId)!;
      expect(row).toMatchObject({ slot: d.slot, chosenBlockId: d.block.id, propensity: d.propensity, modelVersion: d.modelVersion, holdout: false, consent: { personalization: true, analytics: true } });
      expect(row.candidates).toContain(d.block.id);
      expect(row.features).toHaveLength(row.candidates.length);
      expect(row.scores).toHaveLength(row.candidates.length);
      expect(row.features[0]).toHaveLength(row.featureNames.length);
    }
    // The sidebar's pool cannot hold the hero's block (one block per page), and says why.
    const sidebar = rows.find((r) => r.slot === "sidebar")!;
    const hero = rows.find((r) => r.slot === "hero")!;
    expect(sidebar.candidates).not.toContain(hero.chosenBlockId);
  });

  it("a control-group decision logs the block the model would have served", async () => {
    const id = visitor(true);
    const { decisions } = await (await postDecide(shoes(id))).json<DecideResponse>();
    expect(decisions[0]!.reason).toBe("holdout");
    const hero = (await rowsOf(id, 2)).find((r) => r.slot === "hero")!;
    expect(hero).toMatchObject({ holdout: true, holdoutScope: "universal", chosenBlockId: "hero-default", counterfactualBlockId: "hero-shoes-trail" });
    expect(hero.modelVersion).toMatch(/@/);
  });

  it("stores nothing for a visitor without personalisation consent", async () => {
    const id = visitor(false);
    await postDecide(shoes(id, false));
    // A consenting visitor's decision, sent after, is stored: by then this one would be too.
    const later = visitor(false);
    await postDecide(shoes(later));
    expect(await rowsOf(later, 2)).toHaveLength(2);
    const res = await call(`/admin/decisions?visitor=${id}`, { headers: ADMIN });
    expect((await res.json<{ decisions: Row[] }>()).decisions).toEqual([]);
  });
});
