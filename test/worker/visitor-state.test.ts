import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { RankedOption, SelectionInput } from "../../worker/decide/select.ts";
import type { VisitorState } from "../../worker/visitor/visitor-state.ts";

const MIN = 60_000;
const HOUR = 60 * MIN;
const T0 = Date.parse("2026-11-25T08:00:00Z");
const option: RankedOption = { blockId: "a", campaign: "c", tags: [], caps: [{ limit: 1, window: "session" }], rank: 1, personalized: true };
const input: SelectionInput = { slots: [{ slot: "hero", decisionId: "d", options: [option] }], epsilon: 0, globalCaps: [], campaignCaps: {}, maxPromotionalPerPage: 10, promotionalTag: "promo", oneBlockPerCampaign: false, excludeConverted: true };

let n = 0;
const stub = () => env.VISITOR.get(env.VISITOR.idFromName(`visitor-state-test-${n++}`));
/**
 * Runs `work` in the object with its SQL statements recorded and the platform's limit of 100 bound
 * parameters a statement enforced (local workerd does not enforce it); returns the statements.
 */
async function statements(state: DurableObjectState, work: () => Promise<unknown>): Promise<string[]> {
  const sql = state.storage.sql;
  const exec = sql.exec;
  const seen: string[] = [];
  sql.exec = ((query: string, ...bindings: unknown[]) => {
    if (bindings.length > 100) throw new Error(`${bindings.length} bound parameters`);
    seen.push(query);
    return exec.call(sql, query, ...bindings);
  }) as typeof sql.exec;
  try {
    await work();
  } finally {
    sql.exec = exec;
  }
  return seen;
}
const served = async (s: ReturnType<typeof stub>, at: number) => (await s.select(input, { now: at, sessionTimeoutMs: 30 * MIN }))[0]!.pick?.blockId ?? "default";

describe("the visitor Durable Object", () => {
  it.each([
    { gap: 30 * MIN, again: "default" },
    { gap: 30 * MIN + 1, again: "a" },
  ])("a session cap resets only after more than 30 min of inactivity (gap $gap ms)", async ({ gap, again }) => {
    const s = stub();
    expect(await served(s, T0)).toBe("a");
    expect(await served(s, T0 + 10 * MIN)).toBe("default");
    expect(await served(s, T0 + 10 * MIN + gap)).toBe(again);
  });

  it("persists exposures, counters and conversions, and erases them", async () => {
    const s = stub();
    await served(s, T0);
    await s.markConverted("spring", T0);
    expect(await s.exposureCount()).toBe(1);
    expect(await s.erase()).toEqual({ records: 1 + 3 + 1 });
    expect(await s.exposureCount()).toBe(0);
    expect(await served(s, T0 + MIN)).toBe("a");
  });

  it("excludes a campaign once the visitor converted on it", async () => {
    const s = stub();
    await s.markConverted("c", T0);
    const [pick] = await s.select(input, { now: T0, sessionTimeoutMs: 30 * MIN });
    expect(pick!.excluded).toEqual([{ blockId: "a", reason: "converted" }]);
  });
});

describe("page views for edge proxy mode", () => {
  it("counts page views per category within a session and visits across sessions", async () => {
    const s = stub();
    const opts = (at: number) => ({ now: at, sessionTimeoutMs: 30 * MIN });
    expect(await s.pageView("shoes", opts(T0))).toEqual({ categoryViews: { shoes: 1 }, visitCount: 1 });
    expect(await s.pageView(undefined, opts(T0 + MIN))).toEqual({ categoryViews: { shoes: 1 }, visitCount: 1 });
    expect(await s.pageView("shoes", opts(T0 + 2 * MIN))).toEqual({ categoryViews: { shoes: 2 }, visitCount: 1 });
    expect(await s.pageView("bags", opts(T0 + 40 * MIN))).toEqual({ categoryViews: { bags: 1 }, visitCount: 2 });
  });

  // What the object has written (nothing yet: no tables).
  const written = (s: ReturnType<typeof stub>) =>
    runInDurableObject(s, (_: VisitorState, state: DurableObjectState) => {
      const tables = state.storage.sql.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'session_views'").toArray();
      if (!tables.length) return {};
      return Object.fromEntries(state.storage.sql.exec<{ category: string; count: number }>("SELECT category, count FROM session_views").toArray().map((r) => [r.category, r.count]));
    });
  const afterDelay = () => new Promise((r) => setTimeout(r, 150));
  const opts = (at: number) => ({ now: at, sessionTimeoutMs: 30 * MIN });

  it("answers a page view, and the selection that follows, before writing them: one write a moment later", async () => {
    const s = stub();
    await s.pageView("shoes", opts(T0));
    expect(await s.pageView("shoes", opts(T0 + 1000))).toEqual({ categoryViews: { shoes: 2 }, visitCount: 1 });
    expect(await written(s)).toEqual({});
    await served(s, T0 + 2000);
    expect(await written(s)).toEqual({});
    await afterDelay();
    expect(await written(s)).toEqual({ shoes: 2 });
    expect(await s.pageView("bags", opts(T0 + 3000))).toEqual({ categoryViews: { shoes: 2, bags: 1 }, visitCount: 1 });
  });

  it("writes a view no selection follows (a visitor in the control group) shortly after", async () => {
    const s = stub();
    await s.pageView("shoes", opts(T0));
    await afterDelay();
    expect(await written(s)).toEqual({ shoes: 1 });
  });

  it("forgets views not yet written when a new session starts", async () => {
    const s = stub();
    await s.pageView("shoes", opts(T0));
    expect(await s.pageView("bags", opts(T0 + 40 * MIN))).toEqual({ categoryViews: { bags: 1 }, visitCount: 2 });
    await afterDelay();
    expect(await written(s)).toEqual({ bags: 1 });
  });

  it("writes nothing after an erasure, not even a view counted just before it", async () => {
    const s = stub();
    await served(s, T0);
    await s.pageView("shoes", opts(T0 + 1000));
    expect(await s.erase()).toEqual({ records: 1 + 3 });
    await afterDelay();
    expect(await written(s)).toEqual({});
    expect(await runInDurableObject(s, (_: VisitorState, state: DurableObjectState) => state.storage.sql.exec("SELECT name FROM sqlite_master WHERE type = 'table'").toArray())).toEqual([]);
  });

  it("leaves the session's activity to the same write: a page a minute after the last waits for no commit either", async () => {
    const s = stub();
    const lastSeen = () =>
      runInDurableObject(s, (_: VisitorState, state: DurableObjectState) =>
        state.storage.sql.exec("SELECT name FROM sqlite_master WHERE name = 'meta'").toArray().length
          ? state.storage.sql.exec<{ value: number }>("SELECT value FROM meta WHERE key = 'last_seen'").toArray()[0]?.value
          : undefined,
      );
    await s.pageView("shoes", opts(T0));
    // A session's first page is written after its answer too, with the session's start.
    expect(await lastSeen()).toBeUndefined();
    await afterDelay();
    expect(await lastSeen()).toBe(T0 + MIN);
    await served(s, T0 + 1000);
    expect(await lastSeen()).toBe(T0 + MIN);
    await s.pageView("shoes", opts(T0 + 2 * MIN));
    expect(await lastSeen()).toBe(T0 + MIN);
    await served(s, T0 + 2 * MIN + 1000);
    expect(await lastSeen()).toBe(T0 + MIN);
    await afterDelay();
    expect(await lastSeen()).toBe(T0 + 3 * MIN);
    await s.pageView("bags", opts(T0 + 5 * MIN));
    await afterDelay();
    expect(await lastSeen()).toBe(T0 + 6 * MIN);
  });

  it("writes many categories counted at once (statements of at most 100 parameters)", async () => {
    const s = stub();
    const categories = Array.from({ length: 120 }, (_, i) => `c${i}`);
    // In the object, without a turn of the event loop between them: all pending when written
    // (exposureCount writes what is pending first), with the platform's limit of 100 bound
    // parameters (not enforced locally) checked.
    await runInDurableObject(s, (o: VisitorState, state: DurableObjectState) =>
      statements(state, async () => {
        for (const c of categories) await o.pageView(c, opts(T0));
        await o.select(input, opts(T0 + 1000));
        o.exposureCount();
      }),
    );
    expect(await written(s)).toEqual(Object.fromEntries(categories.map((c) => [c, 1])));
  });

  it("writes nothing when an object rebuilt mid-session (after an eviction) answers a page view", async () => {
    const s = stub();
    await s.pageView("shoes", opts(T0));
    await served(s, T0 + 1000);
    const writes = await runInDurableObject(s, async (o: VisitorState, state: DurableObjectState) => {
      const rebuilt = new (o.constructor as new (state: DurableObjectState, e: Env) => VisitorState)(state, env);
      return (await statements(state, () => rebuilt.pageView("shoes", opts(T0 + 2 * MIN)))).filter((q) => !/^\s*(SELECT|PRAGMA)\b/i.test(q));
    });
    expect(writes).toEqual([]);
  });

  it("reads a rebuilt object's moments without a write", async () => {
    const s = stub();
    await s.pageView("shoes", opts(T0));
    await served(s, T0 + 1000);
    const writes = await runInDurableObject(s, async (o: VisitorState, state: DurableObjectState) => {
      state.storage.sql.exec("CREATE TABLE IF NOT EXISTS moment_state (id TEXT PRIMARY KEY, entered_at INTEGER, entries INTEGER NOT NULL, last_exit INTEGER)");
      const rebuilt = new (o.constructor as new (state: DurableObjectState, e: Env) => VisitorState)(state, env);
      await rebuilt.momentMemberships({ moments: [] });
      // An object from before the newer moment tables gets them once; then reads write nothing.
      const again = new (o.constructor as new (state: DurableObjectState, e: Env) => VisitorState)(state, env);
      return (await statements(state, () => again.momentMemberships({ moments: [] }))).filter((q) => !/^\s*(SELECT|PRAGMA)\b/i.test(q));
    });
    expect(writes).toEqual([]);
  });

  it("counts nothing for a customer who withdrew consent", async () => {
    const s = stub();
    await s.pageView("shoes", opts(T0));
    await s.withdraw();
    expect(await s.pageView("shoes", opts(T0 + 1000))).toEqual({ categoryViews: {}, visitCount: 1 });
    await afterDelay();
    expect(await written(s)).toEqual({});
  });
});

describe("exposures corrected by impression events", () => {
  it("counts a seen block that serving did not record, once, and never one already recorded", async () => {
    const s = stub();
    await served(s, T0); // decision "d" recorded at serve time
    const seen = { blockId: "a", campaign: "c", personalized: true };
    expect(await s.recordImpression({ ...seen, decisionId: "d", at: T0 }, T0 + MIN)).toBe(false);
    expect(await s.exposureCount()).toBe(1);
    expect(await s.recordImpression({ ...seen, decisionId: "unrecorded", at: T0 + MIN }, T0 + 2 * MIN)).toBe(true);
    expect(await s.recordImpression({ ...seen, decisionId: "unrecorded", at: T0 + MIN }, T0 + 3 * MIN)).toBe(false);
    expect(await s.exposureCount()).toBe(2);
    // Outside every window: nothing to count.
    expect(await s.recordImpression({ ...seen, decisionId: "old", at: T0 }, T0 + 8 * 24 * 60 * MIN)).toBe(false);
  });

  it("makes the corrected exposure count toward caps", async () => {
    const s = stub();
    const dayCap: SelectionInput = { ...input, slots: [{ slot: "hero", decisionId: "d2", options: [{ ...option, caps: [{ limit: 1, window: "day" }] }] }] };
    await s.recordImpression({ blockId: "a", campaign: "c", personalized: true, decisionId: "seen-elsewhere", at: T0 }, T0);
    const [pick] = await s.select(dayCap, { now: T0 + MIN, sessionTimeoutMs: 30 * MIN });
    expect(pick!.excluded).toEqual([{ blockId: "a", reason: "cap_block" }]);
  });
});

describe("a visitor's history merged into its customer's object", () => {
  it("takes a week of exposures, more than one statement's 100 parameters hold", async () => {
    const customer = stub();
    const recent = Array.from({ length: 45 }, (_, i) => ({ at: T0 + i * MIN, blockId: "a", campaign: "c", personalized: true, decisionId: `d${i}` }));
    await runInDurableObject(customer, (o: VisitorState, state: DurableObjectState) => statements(state, async () => o.absorb("visitor-key", { recent, lifetime: { "block:a": 45 }, converted: [] }, T0 + HOUR)));
    expect(await customer.exposureCount()).toBe(45);
  });
});
