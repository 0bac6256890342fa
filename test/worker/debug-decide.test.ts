import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../worker/app.ts";
import { memoryAuditSink } from "../../worker/audit/record.ts";
import type { DecideResponse } from "../../worker/decide/schema.ts";
import { isHeldOut } from "../../worker/holdout/assign.ts";
import { visitorKey } from "../../worker/visitor/key.ts";
import { call } from "./helpers.ts";

const ADMIN = { authorization: "Bearer test-admin-token" };
const holdout = { rate: Number(env.HOLDOUT_RATE), salt: env.HOLDOUT_SALT };
let n = 0;
const visitor = () => {
  for (;;) {
    const id = `debug-decide-${n++}`;
    if (!isHeldOut(id, holdout)) return id;
  }
};

// The real app and bindings, with the audit sink observed; every deferred write is awaited.
const audit = memoryAuditSink();
const app = createApp(() => ({ audit }));
async function decide(body: object, headers: Record<string, string> = ADMIN) {
  const ctx = createExecutionContext();
  const res = await app.fetch(new Request("http://nextbest.test/v1/decide", { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) }), env, ctx);
  await waitOnExecutionContext(ctx);
  expect(res.status).toBe(200);
  return res.json<DecideResponse & { debug?: { recorded: boolean } }>();
}
const exposures = async (visitorId: string) => env.VISITOR.get(env.VISITOR.idFromName(await visitorKey(visitorId))).exposureCount();
const shoes = (visitorId: string, extra: object = {}) => ({
  visitorId,
  slots: ["hero"],
  consent: { personalization: true },
  context: { signals: { pageType: "category", pageCategory: "shoes", categoryViews: { shoes: 4 }, visitCount: 3 } },
  ...extra,
});
const auditedFor = (decisionIds: string[]) => audit.records.filter((r) => decisionIds.includes(r.decisionId)).length;

beforeAll(async () => {
  // One exposure a day of the shoes hero; budgets generous (this is about recording, not speed).
  const config = { latencyBudgetMs: 10_000, coldStartBudgetMs: 30_000, frequencyCaps: { perBlock: { "hero-shoes-trail": [{ limit: 1, window: "day" }] } } };
  expect((await call("/admin/guardrails", { method: "PUT", headers: { ...ADMIN, "content-type": "application/json" }, body: JSON.stringify(config) })).status).toBe(200);
});
afterAll(async () => {
  await call("/admin/guardrails", { method: "PUT", headers: { ...ADMIN, "content-type": "application/json" }, body: "{}" });
});

describe("debug: true decides record nothing unless asked", () => {
  it("three debug decides: no cap consumed, no exposure, no audit row", async () => {
    const id = visitor();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const answer = await decide(shoes(id, { debug: true }));
      expect(answer.decisions[0]).toMatchObject({ block: { id: "hero-shoes-trail" }, reason: "ranked" });
      expect(answer.debug?.recorded).toBe(false);
      ids.push(answer.decisions[0]!.decisionId);
    }
    expect(await exposures(id)).toBe(0);
    expect(auditedFor(ids)).toBe(0);
    // The cap is intact: the first real decide still serves the capped block, the second not.
    const first = await decide(shoes(id), {});
    expect(first.decisions[0]!.block.id).toBe("hero-shoes-trail");
    expect(auditedFor([first.decisions[0]!.decisionId])).toBe(1);
    expect((await decide(shoes(id), {})).decisions[0]!.block.id).not.toBe("hero-shoes-trail");
  });

  it("a debug decide sees the visitor's caps as a real one would", async () => {
    const id = visitor();
    await decide(shoes(id), {});
    const answer = await decide(shoes(id, { debug: true }));
    expect(answer.decisions[0]!.block.id).not.toBe("hero-shoes-trail");
    expect(await exposures(id)).toBe(1);
  });

  it('"record": true makes a debug decide a recorded one', async () => {
    const id = visitor();
    const answer = await decide(shoes(id, { debug: true, record: true }));
    expect(answer.debug?.recorded).toBe(true);
    expect(await exposures(id)).toBe(1);
    expect(auditedFor([answer.decisions[0]!.decisionId])).toBe(1);
  });

  it.each([{ record: true }, { record: false }, {}])("without debug, %j records as usual", async (extra) => {
    const id = visitor();
    const answer = await decide(shoes(id, extra), {});
    expect(await exposures(id)).toBe(1);
    expect(auditedFor([answer.decisions[0]!.decisionId])).toBe(1);
  });
});
