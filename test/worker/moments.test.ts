import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { isHeldOut } from "../../worker/holdout/assign.ts";
import { momentsOf, onMomentExit } from "../../worker/moments/index.ts";
import { momentsConfigSchema } from "../../worker/moments/schema.ts";
import { visitorKey } from "../../worker/visitor/key.ts";
import { call, postDecide } from "./helpers.ts";
import { EXAMPLE_MOMENTS } from "./moments-fixtures.ts";

const ADMIN = { authorization: "Bearer test-admin-token", "content-type": "application/json" };
const holdout = { rate: Number(env.HOLDOUT_RATE), salt: env.HOLDOUT_SALT };
let n = 0;
const visitor = (held = false) => {
  for (;;) {
    const id = `moments-${n++}`;
    if (isHeldOut(id, holdout) === held) return id;
  }
};
const config = momentsConfigSchema.parse(EXAMPLE_MOMENTS);

const put = (body: unknown, headers: Record<string, string> = {}) => call("/admin/moments", { method: "PUT", headers: { ...ADMIN, ...headers }, body: JSON.stringify(body) });
const latest = async () => (await call("/admin/moments", { headers: ADMIN })).json<{ version: number; config: { moments: Array<{ id: string }> } }>();

const views = (visitorId: string, count: number, personalization = true) =>
  call("/v1/events", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      consent: { analytics: true, personalization },
      events: Array.from({ length: count }, (_, i) => ({ type: "custom", name: "product_view", category: "shoes", eventId: `${visitorId}-view-${i}`, visitorId })),
    }),
  });

/** The moment tables of the visitor's object (none when nothing was kept). */
const momentRows = async (id: string) =>
  runInDurableObject(env.VISITOR.get(env.VISITOR.idFromName(await visitorKey(id))), (_, state) => {
    const tables = state.storage.sql.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'moment_%'").toArray().map((r) => r.name);
    const count = (t: string) => (tables.includes(t) ? state.storage.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM ${t}`).one().n : 0);
    return { events: count("moment_events"), states: count("moment_state") };
  });

async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  let v = await read();
  for (let i = 0; i < 300 && !ok(v); i++) {
    await new Promise((r) => setTimeout(r, 100));
    v = await read();
  }
  return v;
}

const decide = (visitorId: string, signals: Record<string, unknown> = {}) =>
  postDecide({ visitorId, slots: ["hero"], consent: { personalization: true, analytics: true }, context: { url: "https://shop.example/shoes.html", signals } });

const recorded = (visitorId: string) =>
  until(
    async () => (await (await call(`/admin/decisions?visitor=${visitorId}`, { headers: ADMIN })).json<{ decisions: Array<{ moments?: string[]; momentKpis?: unknown[] }> }>()).decisions,
    (d) => d.length > 0,
  );

describe("moments configuration (/admin/moments)", () => {
  it("versions every save (who, when), refuses a bad one with 422 and paths leaving the version in force, and rolls back", async () => {
    const first = await put(EXAMPLE_MOMENTS, { "x-nextbest-actor": "ana" });
    expect(first.status).toBe(200);
    const v1 = await first.json<{ version: number; author: string }>();
    expect(v1.author).toBe("ana");

    const bad = await put({ moments: [{ id: "x", trigger: { condition: { method: [1] } }, exit: {}, kpi: { event: "conversion", windowSeconds: 0 } }] });
    expect(bad.status).toBe(422);
    const err = await bad.json<{ error: { code: string; message: string } }>();
    expect(err.error.code).toBe("invalid_config");
    expect(err.error.message).toContain("moments.0.trigger.condition");
    expect(err.error.message).toContain("moments.0.kpi.windowSeconds");
    expect((await latest()).version).toBe(v1.version);

    const smaller = await (await put({ moments: [EXAMPLE_MOMENTS.moments[0]] }, { "x-nextbest-actor": "bo" })).json<{ version: number }>();
    expect((await put(EXAMPLE_MOMENTS, { "if-match": `"${v1.version}"` })).status).toBe(412);
    const rolled = await call("/admin/moments/rollback", { method: "POST", headers: ADMIN, body: JSON.stringify({ version: v1.version }) });
    expect(rolled.status).toBe(200);
    expect(await rolled.json()).toMatchObject({ action: "rollback", restoredFrom: v1.version });
    expect((await latest()).config.moments.map((m) => m.id)).toEqual(EXAMPLE_MOMENTS.moments.map((m) => m.id));
    const history = await (await call("/admin/moments/history", { headers: ADMIN })).json<{ versions: Array<{ version: number; author: string; action: string }> }>();
    expect(history.versions.slice(0, 3).map((v) => [v.version, v.action])).toEqual([[smaller.version + 1, "rollback"], [smaller.version, "put"], [v1.version, "put"]]);
    expect((await call("/admin/moments", { headers: { "content-type": "application/json" } })).status).toBe(401);
  });
});

describe("membership from events and decides, recorded on decisions", () => {
  it("three views in a category enter the intent spike; the decision records it; erasure removes the state", async () => {
    expect((await put(EXAMPLE_MOMENTS)).status).toBe(200);
    const id = visitor();
    expect((await views(id, 3)).status).toBe(202);
    const moments = await until(() => momentsOf(env, { visitorId: id }, config), (m) => m.some((x) => x.id === "intent-spike"));
    expect(moments.map((m) => m.id)).toContain("intent-spike");
    expect(moments.find((m) => m.id === "intent-spike")!.kpi).toEqual({ event: "conversion", windowSeconds: 86_400 });
    expect((await momentRows(id)).events).toBe(3);

    expect((await decide(id)).status).toBe(200);
    const [row] = await recorded(id);
    // The first decide is the first visit too: onboarding is entered at decide time.
    expect(row!.moments?.sort()).toEqual(["intent-spike", "onboarding"]);
    expect(row!.momentKpis).toHaveLength(2);

    const erased = await call(`/admin/visitors/${id}`, { method: "DELETE", headers: ADMIN });
    expect(erased.status).toBe(200);
    expect(await momentRows(id)).toEqual({ events: 0, states: 0 });
    expect(await momentsOf(env, { visitorId: id }, config)).toEqual([]);
  });

  it("counts a resent event (same eventId, a retried beacon) once in a trigger's window", async () => {
    expect((await put(EXAMPLE_MOMENTS)).status).toBe(200);
    const id = visitor();
    for (let i = 0; i < 3; i++) expect((await views(id, 1)).status).toBe(202);
    expect((await until(() => momentRows(id), (r) => r.events > 0)).events).toBe(1);
    await new Promise((r) => setTimeout(r, 300));
    expect((await momentRows(id)).events).toBe(1);
    expect((await momentsOf(env, { visitorId: id }, config)).map((m) => m.id)).not.toContain("intent-spike");
    // Two new views (and the first resent once more) make three distinct ones.
    expect((await views(id, 3)).status).toBe(202);
    const moments = await until(() => momentsOf(env, { visitorId: id }, config), (m) => m.some((x) => x.id === "intent-spike"));
    expect(moments.map((m) => m.id)).toContain("intent-spike");
    expect((await momentRows(id)).events).toBe(3);
  });

  it("keeps nothing from events sent without personalisation consent", async () => {
    const id = visitor();
    expect((await views(id, 3, false)).status).toBe(202);
    await new Promise((r) => setTimeout(r, 300));
    expect(await momentRows(id)).toEqual({ events: 0, states: 0 });
  });

  it("a decide's signals enter the renewal window; the universal control group's decisions record their moments too", async () => {
    const treated = visitor();
    await decide(treated, { daysToRenewal: 10 });
    expect((await recorded(treated))[0]!.moments?.sort()).toEqual(["onboarding", "renewal-window"]);
    const held = visitor(true);
    await decide(held, { daysToRenewal: 10 });
    const [row] = await recorded(held);
    expect(row).toMatchObject({ holdout: true });
    expect(row!.moments?.sort()).toEqual(["onboarding", "renewal-window"]);
  });

  it("without moments configured decisions carry no moments field", async () => {
    expect((await put({ moments: [] })).status).toBe(200);
    const id = visitor();
    await decide(id, { daysToRenewal: 10 });
    expect((await recorded(id))[0]!.moments).toBeUndefined();
  });
});

describe("the visitor's object with an injected clock, and the exit hook", () => {
  const one = momentsConfigSchema.parse({
    moments: [{ id: "spike", trigger: { event: "product_view" }, exit: { event: "conversion" }, reentry: { maxEntries: 2, cooldownSeconds: 600 }, kpi: { event: "conversion", windowSeconds: 3600 } }],
  });
  const T = Date.UTC(2026, 10, 3, 12);
  const M = 60_000;

  it("stores entries, exits and re-entry limits at the times given, and tells the exit listeners", async () => {
    const key = await visitorKey(visitor());
    const stub = env.VISITOR.get(env.VISITOR.idFromName(key));
    const heard: Array<[string, string, number]> = [];
    const off = onMomentExit((_env, k, id, at) => {
      heard.push([k, id, at]);
    });
    try {
      const at = (minutes: number, event: string) => stub.momentEvents([{ at: T + minutes * M, event }], { config: one, key }, T + minutes * M);
      expect(await at(0, "product_view")).toMatchObject({ entered: ["spike"], exited: [] });
      expect(await at(1, "conversion")).toMatchObject({ entered: [], exited: ["spike"] });
      expect(await at(5, "product_view")).toMatchObject({ entered: [], moments: [] }); // 10 min cooldown
      expect(await at(12, "product_view")).toMatchObject({ entered: ["spike"], moments: [{ id: "spike", enteredAt: T + 12 * M }] });
      expect(await at(13, "conversion")).toMatchObject({ exited: ["spike"] });
      expect(await at(40, "product_view")).toMatchObject({ entered: [], moments: [] }); // maxEntries 2
      await until(async () => heard.length, (k) => k >= 2);
      expect(heard).toEqual([
        [key, "spike", T + M],
        [key, "spike", T + 13 * M],
      ]);
    } finally {
      off();
    }
  });

  it("a debug decide sees the moments and stores nothing", async () => {
    expect((await put(EXAMPLE_MOMENTS)).status).toBe(200);
    const id = visitor();
    const res = await postDecide(
      { visitorId: id, slots: ["hero"], consent: { personalization: true, analytics: true }, context: { signals: { daysToRenewal: 3 } }, debug: true },
      { authorization: "Bearer test-admin-token" },
    );
    expect(res.status).toBe(200);
    expect(await momentRows(id)).toEqual({ events: 0, states: 0 });
  });
});
