/**
 * Issue 12 item 8: unauthenticated writes are bounded. Rate limits per client IP and per visitor
 * on POST /v1/decide, /v1/events, /v1/consent and /v1/identify, with the real Rate Limiting binding (miniflare):
 * the app runs with small test limits (vitest.config.ts TEST_RATE_LIMIT_*) in enforce mode. And
 * requests about visitors with no state create no Durable Object state.
 */
import { createExecutionContext, listDurableObjectIds, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createApp } from "../../worker/app.ts";
import { isHeldOut } from "../../worker/holdout/assign.ts";
import { visitorKey } from "../../worker/visitor/key.ts";
import { call } from "./helpers.ts";

const app = createApp();
const testEnv = (mode = "enforce") => {
  const bindings = env as unknown as Record<string, unknown>;
  return { ...env, RATE_LIMIT_MODE: mode, RATE_LIMIT_IP: bindings.TEST_RATE_LIMIT_IP, RATE_LIMIT_VISITOR: bindings.TEST_RATE_LIMIT_VISITOR } as Env;
};
const IP_LIMIT = 5;
const VISITOR_LIMIT = 3;

// Keys unique to this run and test: the binding's counters live as long as the test runtime.
const run = Date.now().toString(36);
let n = 0;
const freshIp = () => `2001:db8:${run.slice(-4)}::${(n++).toString(16)}`;
const freshVisitor = () => `rl-${run}-${n++}`;

async function send(path: string, body: unknown, ip: string | null, mode?: string): Promise<Response> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (ip) headers["cf-connecting-ip"] = ip;
  const ctx = createExecutionContext();
  const res = await app.fetch(new Request(`http://nextbest.test${path}`, { method: "POST", headers, body: JSON.stringify(body) }), testEnv(mode), ctx);
  await res.arrayBuffer().catch(() => undefined);
  await waitOnExecutionContext(ctx);
  return new Response(null, { status: res.status, headers: res.headers });
}

const decideBody = (visitorId: string) => ({ visitorId, slots: ["hero"], consent: { personalization: false } });
const eventsBody = (visitorId: string) => ({ consent: { analytics: false }, events: [{ type: "custom", name: "x", visitorId }] });
const consentBody = (visitorId: string) => ({ visitorId, consent: { personalization: false, analytics: false } });
// Unsigned identify is off, so each is a 401 until the limit makes it a 429.
const identifyBody = (visitorId: string) => ({ visitorId, consent: { personalization: true }, customerId: "rate-limited-customer" });

/**
 * Sends until refused. The binding counts in fixed windows; a test shorter than one window
 * crosses at most one boundary, so the first `limit` pass and a refusal comes by 2 × limit + 1.
 */
async function untilRefused(limit: number, request: () => Promise<Response>): Promise<{ passed: number; refused?: Response }> {
  let passed = 0;
  for (let i = 0; i < 2 * limit + 1; i++) {
    const res = await request();
    if (res.status === 429) return { passed, refused: res };
    passed++;
  }
  return { passed };
}

describe.each([
  ["/v1/decide", decideBody, 200],
  ["/v1/events", eventsBody, 400],
  ["/v1/consent", consentBody, 202],
  ["/v1/identify", identifyBody, 401],
] as const)("POST %s", (path, body, _status) => {
  it("refuses a client IP over its limit with 429 rate_limited and Retry-After", async () => {
    const ip = freshIp();
    const { passed, refused } = await untilRefused(IP_LIMIT, () => send(path, body(freshVisitor()), ip));
    expect(passed).toBeGreaterThanOrEqual(IP_LIMIT);
    expect(refused?.status).toBe(429);
    expect(refused!.headers.get("retry-after")).toBe("60");
    // Another address is not affected.
    expect((await send(path, body(freshVisitor()), freshIp())).status).not.toBe(429);
  });

  it("refuses a visitor over its limit, whatever the address", async () => {
    const visitor = freshVisitor();
    const { passed, refused } = await untilRefused(VISITOR_LIMIT, () => send(path, body(visitor), freshIp()));
    expect(passed).toBeGreaterThanOrEqual(VISITOR_LIMIT);
    expect(refused?.status).toBe(429);
  });
});

describe("rate limit answers", () => {
  it("use the one error shape", async () => {
    const ip = freshIp();
    const { refused } = await untilRefused(IP_LIMIT, () => send("/v1/decide", decideBody(freshVisitor()), ip));
    const res = await app.fetch(
      new Request("http://nextbest.test/v1/decide", { method: "POST", headers: { "content-type": "application/json", "cf-connecting-ip": ip }, body: JSON.stringify(decideBody(freshVisitor())) }),
      testEnv(),
      createExecutionContext(),
    );
    expect(refused?.status).toBe(429);
    expect(res.status).toBe(429);
    expect(res.headers.get("content-type")).toContain("application/json");
    expect(await res.json()).toEqual({ error: { code: "rate_limited", message: expect.stringContaining("client IP") } });
  });

  it("count an events batch against each of its visitors", async () => {
    const visitor = freshVisitor();
    const { refused } = await untilRefused(VISITOR_LIMIT, () => send("/v1/events", { consent: { analytics: false }, events: [...eventsBody(freshVisitor()).events, ...eventsBody(visitor).events] }, freshIp()));
    expect(refused?.status).toBe(429);
  });

  it("serve anyway in report mode (RATE_LIMIT_MODE=report: the bench, load tests)", async () => {
    const ip = freshIp();
    const { passed, refused } = await untilRefused(IP_LIMIT, () => send("/v1/decide", decideBody(freshVisitor()), ip, "report"));
    expect(refused).toBeUndefined();
    expect(passed).toBe(2 * IP_LIMIT + 1);
  });
});

describe("requests for visitors with no state create none", () => {
  const objects = async () => (await listDurableObjectIds(env.VISITOR)).map((i) => i.toString());
  const objectOf = async (id: string) => env.VISITOR.idFromName(await visitorKey(id)).toString();
  /**
   * The tables of the visitor's object. Asking instantiates it (locally workerd then keeps an
   * empty SQLite file for it); an object that never wrote has no table and no row, which is what
   * Cloudflare does not keep.
   */
  const tables = async (id: string) =>
    runInDurableObject(env.VISITOR.get(env.VISITOR.idFromName(await visitorKey(id))), (_, state) =>
      state.storage.sql.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'").toArray().map((r) => r.name),
    );

  it.each([
    ["a consent withdrawal for a new id", (id: string) => call("/v1/consent", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(consentBody(id)) }), 202],
    [
      "a conversion without analytics consent",
      (id: string) => call("/v1/events", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ consent: { analytics: false, personalization: true }, events: [{ type: "conversion", visitorId: id, decisionId: "d-unknown" }] }) }),
      202,
    ],
    [
      "a consented conversion and impression for decisions the visitor never had",
      (id: string) =>
        call("/v1/events", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ consent: { analytics: true, personalization: true }, events: [{ type: "conversion", visitorId: id, decisionId: "d-unknown" }, { type: "impression", visitorId: id, decisionId: "d-unknown-2" }] }),
        }),
      202,
    ],
    ["a decide without personalisation consent", (id: string) => call("/v1/decide", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(decideBody(id)) }), 200],
  ])("%s", async (_name, request, status) => {
    const id = freshVisitor();
    expect((await request(id)).status).toBe(status);
    // The events route applies feedback after the answer: a decide with consent for another
    // visitor, sent after, is answered once that work had its turn.
    await new Promise((r) => setTimeout(r, 300));
    expect(await tables(id)).toEqual([]);
  });

  it("a decide with personalisation consent does create state (the control)", async () => {
    // A visitor in treatment: the universal control group (HOLDOUT_RATE, 5%) sees the defaults and
    // writes no caps, and ids here change with every run, so 1 run in 20 would have drawn one.
    let id = freshVisitor();
    while (isHeldOut(id, { rate: Number(env.HOLDOUT_RATE), salt: env.HOLDOUT_SALT })) id = freshVisitor();
    await call("/v1/decide", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ ...decideBody(id), consent: { personalization: true } }) });
    // A first visit's tables are written ~50 ms after its answer (worker/visitor/pending-writes.ts).
    await new Promise((r) => setTimeout(r, 300));
    expect(await objects()).toContain(await objectOf(id));
    expect(await tables(id)).toContain("exposures");
    // Withdrawing consent erases it again, tables included.
    expect((await call("/v1/consent", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(consentBody(id)) })).status).toBe(202);
    expect(await tables(id)).toEqual([]);
  });
});
