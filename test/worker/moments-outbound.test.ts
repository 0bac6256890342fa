// Per-moment KPI lift of outbound decisions (issue 18): identify writes the device → customer links
// to D1, next-action decisions in a moment are folded with the customer's KPI events from any
// linked device or their channel feedback by the real log consumer (worker/pipeline/consume.ts with
// the production deps), GET /admin/reports/moments shows `outbound` per moment, and every erasure
// path removes the links. Figures are checked against a hand count.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { createApp } from "../../worker/app.ts";
import { memoryAuditSink, type AuditRecord } from "../../worker/audit/record.ts";
import type { StoredEvent } from "../../worker/events/schema.ts";
import { linkedDevices } from "../../worker/identity/devices.ts";
import { customerKey, type IdentityEnv } from "../../worker/identity/keys.ts";
import { momentsConfigSchema } from "../../worker/moments/schema.ts";
import type { MomentStore } from "../../worker/moments/store.ts";
import { servicesFromEnv } from "../../worker/middleware/init.ts";
import { runNextAction } from "../../worker/next-action/run.ts";
import { memoryScheduler } from "../../worker/next-action/scheduler.ts";
import { consumeLog } from "../../worker/pipeline/consume.ts";
import { consumerDeps, LOG_QUEUE_NAME } from "../../worker/pipeline/wire.ts";
import { compareProportions } from "../../worker/stats/proportions.ts";
import { visitorKey } from "../../worker/visitor/key.ts";
import { ADMIN } from "./audit-fixtures.ts";
import { messageBatch } from "./pipeline-harness.ts";

const MIN = 60_000;
const H = 60 * MIN;
const DAY0 = Date.UTC(2026, 3, 7); // a UTC day no other test file writes to
const AT = DAY0 + 9 * H;
/** IDENTIFY_SECRET of the Worker tests (vitest.config.ts; workerd cannot import that file). */
const TEST_IDENTIFY_SECRET = "test-identify-secret-0123456789abcdef";
const WINBACK = { event: "purchase", windowSeconds: 2 * 3600 };
const RENEWAL = { event: "renewed", windowSeconds: 86_400 };

const MOMENTS: MomentStore = {
  current: async () => ({
    version: 1,
    config: momentsConfigSchema.parse({
      moments: [
        { id: "mo-winback", trigger: { event: "mo_never_sent" }, exit: { afterSeconds: 86_400 }, kpi: WINBACK },
        { id: "mo-renewal", trigger: { event: "mo_never_sent" }, exit: { afterSeconds: 86_400 }, kpi: RENEWAL },
      ],
    }),
    author: "test",
    createdAt: 0,
    action: "put",
  }),
} as unknown as MomentStore;

const clock = { now: AT };
let holdoutRate = 0;
let ids = 0;
const audit = memoryAuditSink();
const app = createApp(() => ({ now: () => clock.now, scheduler: memoryScheduler(), audit, newId: () => `mo-${++ids}`, holdout: { rate: holdoutRate, salt: "mo-test" }, epsilon: 0, moments: MOMENTS }));

async function fetchApp(path: string, init: RequestInit = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await app.fetch(new Request(`http://nextbest.test${path}`, init), env, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}
const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetchApp(path, { method: "POST", headers: { ...headers, "content-type": "application/json" }, body: JSON.stringify(body) });

let jti = 0;
/** Links a device to a customer through POST /v1/identify with a token signed as the site's backend does (valid at the test's clock). */
async function identify(visitorId: string, customerId: string): Promise<void> {
  const token = await new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setSubject(customerId).setJti(`mo-jti-${++jti}`).setIssuedAt(Math.floor(clock.now / 1000)).setExpirationTime(Math.floor(clock.now / 1000) + 600).sign(new TextEncoder().encode(TEST_IDENTIFY_SECRET));
  const res = await post("/v1/identify", { visitorId, token, consent: { personalization: true, analytics: true } });
  expect(res.status).toBe(200);
}

/** A next-action decision through POST /v1/next-action at `time`: the record run.ts logs. */
async function decide(customerId: string, moment: string, time: number, heldOut: boolean): Promise<AuditRecord> {
  clock.now = time;
  holdoutRate = heldOut ? 1 : 0;
  const res = await post("/v1/next-action", { customerId, moment, triggerAt: time }, ADMIN);
  expect(res.status).toBe(200);
  const { decisionId } = await res.json<{ decisionId: string }>();
  return audit.records.find((r) => r.decisionId === decisionId)!;
}

const keyOf = (customerId: string) => customerKey(env as IdentityEnv, customerId);
const feedbackKeyOf = async (customerId: string) => visitorKey(await keyOf(customerId));

let eventIds = 0;
/** An event from a device (by visitor id) or, with `feedback`, the customer's channel feedback. */
async function event(from: { device: string } | { feedback: string }, time: number, type: StoredEvent["type"], name: string | null, value: number | null = null): Promise<StoredEvent> {
  const key = "device" in from ? await visitorKey(from.device) : await feedbackKeyOf(from.feedback);
  return { id: `mo-e${++eventIds}`, time, type, name, decisionId: null, visitorKey: key, blockId: null, slot: null, value, currency: value === null ? null : "EUR" };
}

let messages = 0;
/** A queue message body of the log: decisions or events. */
const body = (records: AuditRecord[] | StoredEvent[], kind: "decisions" | "events") => ({ v: 1, kind, records });
/** Delivers one message to the production log consumer (the aggregates fold in its transaction). */
async function deliver(message: ReturnType<typeof body>): Promise<void> {
  const { batch, outcome } = messageBatch(LOG_QUEUE_NAME, [{ id: `mo-m${++messages}`, body: message, attempts: 1 }]);
  // A lake flush is never due: this file is about the D1 aggregates.
  await consumeLog(batch, consumerDeps(env, () => clock.now, { rowsSince: 0, lastFlushAt: Number.MAX_SAFE_INTEGER }));
  expect([...outcome.values()]).toEqual(["ack"]);
}

interface Group { visitors: number; conversions: number; kpiEvents: number; revenue: number }
interface Lift { treatment: Group; control: Group; lift: { absolute: { estimate: number | null; low: number | null; high: number | null } } }
interface Section { moment: string; kpi: { event: string; windowSeconds: number } | null; lift: Lift; outbound: Lift }
async function report(): Promise<Section[]> {
  const res = await fetchApp(`/admin/reports/moments?from=${DAY0}&to=${DAY0 + 2 * 86_400_000}`, { headers: ADMIN });
  expect(res.status).toBe(200);
  return (await res.json<{ byMoment: Section[] }>()).byMoment;
}
const section = (all: Section[], id: string) => all.find((s) => s.moment === id)!;

const outboundRows = async (customerId: string) =>
  (await env.DB.prepare("SELECT moment, kpi_events AS kpiEvents FROM agg_moment_outbound WHERE customer_key = ? ORDER BY moment").bind(await keyOf(customerId)).all<{ moment: string; kpiEvents: number }>()).results;
const linksOfDevices = async (...devices: string[]) =>
  (await env.DB.prepare("SELECT COUNT(*) AS n FROM customer_devices WHERE visitor_key IN (SELECT value FROM json_each(?))").bind(JSON.stringify(await Promise.all(devices.map(visitorKey)))).first<number>("n"));

describe("outbound lift by moment, from the customer's devices and channel feedback", () => {
  it("counts KPI events from any linked device or feedback within the window, before or after the decision; redelivery changes nothing", async () => {
    await identify("mo-t1-laptop", "mo-t1");
    await identify("mo-t2-laptop", "mo-t2");
    await identify("mo-t3-laptop", "mo-t3");
    await identify("mo-c1-laptop", "mo-c1");
    await identify("mo-c1-phone", "mo-c1");
    await identify("mo-c2-laptop", "mo-c2");
    expect(await linkedDevices(env.DB, await keyOf("mo-c1"))).toEqual([await visitorKey("mo-c1-laptop"), await visitorKey("mo-c1-phone")].sort());

    // KPI events that reach the consumer before any decision.
    const early = body([
      await event({ device: "mo-t1-laptop" }, AT + 30 * MIN, "custom", "purchase", 40), // T1: counts once the decision arrives
      await event({ device: "mo-t1-phone" }, AT + 50 * MIN, "custom", "purchase", 15), // T1's second device, linked only later
      await event({ device: "mo-stranger" }, AT + 30 * MIN, "custom", "purchase", 99), // nobody's device
    ], "events");
    await deliver(early);

    // T2's second decision arrives first; its first (earlier) one comes in the next batch.
    const t2Later = body([await decide("mo-t2", "mo-winback", AT + 20 * MIN, false)], "decisions");
    await deliver(t2Later);
    // Inside the window of the AT+20m decision, outside that of the first one (AT): dropped by the recount.
    const between = body([await event({ device: "mo-t2-laptop" }, AT + 2 * H + 10 * MIN, "custom", "purchase", 5)], "events");
    await deliver(between);

    const records = [
      await decide("mo-t1", "mo-winback", AT, false),
      await decide("mo-t1", "mo-renewal", AT, false),
      await decide("mo-t2", "mo-winback", AT, false),
      await decide("mo-t3", "mo-winback", AT, false),
      await decide("mo-c1", "mo-winback", AT, true),
      await decide("mo-c2", "mo-winback", AT, true),
    ];
    // What run.ts logs: the moment's KPI at decision time and the customer's feedback key.
    expect(records[0]!.nextAction).toMatchObject({ moment: "mo-winback", momentKpi: WINBACK, feedbackKey: await feedbackKeyOf("mo-t1") });
    expect(records.map((r) => r.holdout)).toEqual([false, false, false, false, true, true]);
    const decisions = body(records, "decisions");
    await deliver(decisions);

    const late = body([
      await event({ feedback: "mo-t1" }, AT + 60 * MIN, "custom", "purchase", 10), // T1's channel feedback
      await event({ device: "mo-t1-laptop" }, AT + 3 * H, "custom", "purchase", 70), // outside the 2 h window
      await event({ device: "mo-t1-laptop" }, AT + 10 * MIN, "custom", "renewed"), // the renewal moment's KPI, not winback's
      await event({ feedback: "mo-t3" }, AT + 5 * MIN, "custom", "purchase"), // T3 converts through feedback only
      await event({ device: "mo-c1-phone" }, AT + 45 * MIN, "custom", "purchase", 25), // C1's second device
      await event({ device: "mo-c2-laptop" }, AT + 10 * MIN, "click", null), // not the KPI
    ], "events");
    await deliver(late);
    // T1's phone is linked after its purchase was folded: the link recounts T1's rows.
    await identify("mo-t1-phone", "mo-t1");

    const first = await report();
    const winback = section(first, "mo-winback");
    expect(winback.kpi).toEqual(WINBACK);
    // Hand count, winback (2 h from each customer's first decision at AT):
    //  T1: laptop 40 (AT+30m) + phone 15 (AT+50m) + feedback 10 (AT+1h) = 3 events, 65; not the AT+3h one nor "renewed"
    //  T2: first decision AT (not AT+20m), so the AT+2h10m purchase is outside: 0
    //  T3: feedback (AT+5m) = 1 event, no value
    //  C1: phone 25 (AT+45m) = 1 event, 25;  C2: a click only: 0;  the stranger's purchase: nobody's
    expect(winback.outbound.treatment).toMatchObject({ visitors: 3, conversions: 2, kpiEvents: 4, revenue: 65 });
    expect(winback.outbound.control).toMatchObject({ visitors: 2, conversions: 1, kpiEvents: 1, revenue: 25 });
    expect(winback.outbound.lift.absolute).toMatchObject(compareProportions({ n: 3, x: 2 }, { n: 2, x: 1 }, 0.95).absoluteLift);
    expect(winback.outbound.lift.absolute.estimate).toBeCloseTo(2 / 3 - 1 / 2, 12);
    // Web decisions are not mixed in (and outbound ones are not in the web lift).
    expect(winback.lift.treatment.visitors + winback.lift.control.visitors).toBe(0);
    const renewal = section(first, "mo-renewal");
    expect(renewal.kpi).toEqual(RENEWAL);
    expect(renewal.outbound.treatment).toMatchObject({ visitors: 1, conversions: 1, kpiEvents: 1 }); // T1's "renewed" at AT+10m
    expect(renewal.outbound.control).toMatchObject({ visitors: 0 });

    // The queue delivers at least once; identify may be sent again: nothing changes.
    for (const m of [early, t2Later, between, decisions, late]) await deliver(m);
    await identify("mo-t1-phone", "mo-t1");
    expect(await report()).toEqual(first);
  });

  it("a journey's call records the KPI of the moment it entered, without reading the moments store", async () => {
    const deferred: Promise<unknown>[] = [];
    const defer = (work: Promise<unknown>) => void deferred.push(work);
    const sink = memoryAuditSink();
    const services = { ...servicesFromEnv(env, defer), audit: sink, scheduler: memoryScheduler(), moments: undefined, holdout: { rate: 0, salt: "mo-test" } };
    const key = await keyOf("mo-journey");
    const kpi = { event: "signed_up", windowSeconds: 600 };
    const answer = await runNextAction(env, services, { customerKey: key, moment: "mo-onboarding", momentActions: [], momentKpi: kpi, triggerAt: Date.now() }, defer);
    await Promise.allSettled(deferred);
    expect(sink.records.find((r) => r.decisionId === answer.decisionId)?.nextAction).toMatchObject({ moment: "mo-onboarding", momentKpi: kpi, feedbackKey: await visitorKey(key) });
  });

  it.each([
    ["DELETE /admin/customers/:id", (p: string) => fetchApp(`/admin/customers/${p}`, { method: "DELETE", headers: ADMIN })],
    ["DELETE /admin/visitors/:id of a linked device", (p: string) => fetchApp(`/admin/visitors/${p}-phone`, { method: "DELETE", headers: ADMIN })],
    ["consent withdrawal (personalization) on a device", (p: string) => post("/v1/consent", { visitorId: `${p}-laptop`, consent: { personalization: false, analytics: true } })],
  ])("%s removes the customer's device links and outbound moment rows", async (_path, erase) => {
    const p = `mo-erase-${++ids}`;
    await identify(`${p}-laptop`, p);
    await identify(`${p}-phone`, p);
    await deliver(body([await decide(p, "mo-winback", AT, false)], "decisions"));
    await deliver(body([await event({ device: `${p}-phone` }, AT + MIN, "custom", "purchase", 1)], "events"));
    expect(await linksOfDevices(`${p}-laptop`, `${p}-phone`)).toBe(2);
    expect(await outboundRows(p)).toEqual([{ moment: "mo-winback", kpiEvents: 1 }]);

    expect([200, 202]).toContain((await erase(p)).status);
    expect(await linksOfDevices(`${p}-laptop`, `${p}-phone`)).toBe(0);
    expect(await linkedDevices(env.DB, await keyOf(p))).toEqual([]);
    expect(await outboundRows(p)).toEqual([]);
  });

  it("withdrawing analytics on one device recounts the customer's KPI without its events and keeps the links", async () => {
    const p = "mo-analytics";
    await identify(`${p}-laptop`, p);
    await identify(`${p}-phone`, p);
    await deliver(body([await decide(p, "mo-winback", AT, false)], "decisions"));
    await deliver(body([await event({ device: `${p}-laptop` }, AT + MIN, "custom", "purchase"), await event({ device: `${p}-phone` }, AT + 2 * MIN, "custom", "purchase")], "events"));
    expect(await outboundRows(p)).toEqual([{ moment: "mo-winback", kpiEvents: 2 }]);

    expect((await post("/v1/consent", { visitorId: `${p}-phone`, consent: { personalization: true, analytics: false } })).status).toBe(202);
    expect(await outboundRows(p)).toEqual([{ moment: "mo-winback", kpiEvents: 1 }]);
    expect(await linksOfDevices(`${p}-laptop`, `${p}-phone`)).toBe(2);
  });
});
