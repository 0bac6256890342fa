// Activation: channel webhooks configured at /admin/channels (versioned, secret never answered),
// deliveries queryable, channel feedback through POST /v1/events and the log queue folded once into
// the engagement aggregates, unsubscribes opting the channel out, and GET /admin/reports/channels
// with its send-time lift checked against Newcombe (1998) and an independent computation.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Outbox } from "../../worker/activation/outbox.ts";
import { channelReport, type ActivationCell } from "../../worker/activation/report.ts";
import { outboxOf, scheduleAction } from "../../worker/activation/schedule.ts";
import type { ScheduledAction } from "../../worker/activation/types.ts";
import type { StoredEvent } from "../../worker/events/schema.ts";
import { consumeLog } from "../../worker/pipeline/consume.ts";
import { consumerDeps } from "../../worker/pipeline/wire.ts";
import { call } from "./helpers.ts";
import { messageBatch } from "./pipeline-harness.ts";

const admin = (path: string, init: RequestInit = {}) =>
  call(path, { ...init, headers: { authorization: `Bearer ${env.ADMIN_TOKEN}`, "content-type": "application/json", ...(init.headers as Record<string, string>) } });

const HOUR = 3_600_000;
const LATER = Date.now() + 24 * HOUR;

describe("/admin/channels", () => {
  it("saves versions with who and when, never answers the secret, refuses unsafe targets", async () => {
    const put = (body: unknown, actor = "ana") => admin("/admin/channels/push", { method: "PUT", body: JSON.stringify(body), headers: { "x-nextbest-actor": actor } });
    const first = await put({ url: "https://push.example/hook" });
    expect(first.status).toBe(200);
    const v1 = (await first.json()) as Record<string, unknown>;
    expect(v1).toMatchObject({ channel: "push", url: "https://push.example/hook", secretName: "ACTIVATION_WEBHOOK_SECRET", secretConfigured: true, version: 1, updatedBy: "ana", maxAttempts: 6 });
    await put({ url: "https://push.example/hook2", maxAttempts: 4 }, "ben");
    const got = await (await admin("/admin/channels/push")).text();
    expect(got).not.toContain(env.ACTIVATION_WEBHOOK_SECRET);
    expect(JSON.parse(got)).toMatchObject({ version: 2, updatedBy: "ben", url: "https://push.example/hook2" });
    const versions = (await (await admin("/admin/channels/push/versions")).json()) as { versions: Array<{ version: number; updatedBy: string }> };
    expect(versions.versions.map((v) => [v.version, v.updatedBy])).toEqual([[2, "ben"], [1, "ana"]]);

    for (const bad of [{ url: "not a url" }, { url: "https://" }, { url: "http://[::1" }, { url: "http://esp.example/hook" }, { url: "https://user:pw@esp.example/" }, { url: "https://esp.example/", secretName: "IDENTITY_SECRET" }, { url: "https://esp.example/", extra: 1 }]) {
      const res = await put(bad);
      expect(res.status).toBe(422);
      expect(await res.json()).toMatchObject({ error: { code: "invalid_config" } });
    }
    expect((await admin("/admin/channels/web", { method: "PUT", body: JSON.stringify({ url: "https://x.example/" }) })).status).toBe(404);
    expect((await call("/admin/channels")).status).toBe(401);
  });
});

/** Schedules and delivers (receiver answering 200) one action per spec; returns them. */
async function sendAll(specs: Array<Partial<ScheduledAction>>): Promise<ScheduledAction[]> {
  const out: ScheduledAction[] = [];
  for (const [i, spec] of specs.entries()) {
    const a: ScheduledAction = { decisionId: `fb-${LATER}-${i}`, customerKey: (i.toString(16).padStart(4, "0") + "c".repeat(32)).slice(0, 32), channel: "email", actionId: "renewal-offer", contentRef: "tmpl:renew", sendAt: LATER, ...spec };
    await scheduleAction(env, a);
    const stub = outboxOf(env, a.customerKey);
    await runInDurableObject(stub, (o: Outbox) => {
      o.now = () => a.sendAt;
      o.transport = async () => new Response("ok");
    });
    await runDurableObjectAlarm(stub);
    out.push(a);
  }
  return out;
}

const cell = async (arm: string, hour: number) =>
  env.DB.prepare("SELECT sent, delivered, opened, clicked, bounced, unsubscribed, engaged FROM agg_activation WHERE channel = 'email' AND send_time_arm = ? AND hour_of_week = ?").bind(arm, hour).first();

async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  for (let i = 0; i < 600; i++) {
    const v = await read();
    if (ok(v)) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  return read();
}

describe("channel feedback", () => {
  it("folds delivered/opened/clicked once per message through the queue; a forged customer counts nothing; unsubscribes opt out", async () => {
    await admin("/admin/channels/email", { method: "PUT", body: JSON.stringify({ url: "https://esp.example/hook" }) });
    const sent = await sendAll([
      { sendTimeArm: "chosen", hourOfWeek: 10 }, { sendTimeArm: "chosen", hourOfWeek: 10 }, { sendTimeArm: "chosen", hourOfWeek: 10 },
      { sendTimeArm: "explore", hourOfWeek: 18, fallbackHour: true }, { sendTimeArm: "explore", hourOfWeek: 18, fallbackHour: true },
    ]);
    expect(await cell("chosen", 10)).toMatchObject({ sent: 3, engaged: 0 });
    const ev = (a: ScheduledAction, type: string, visitorId = a.customerKey) => ({ type, decisionId: a.decisionId, visitorId });
    const events = [
      ...sent.map((a) => ev(a, "delivered")),
      ev(sent[0]!, "opened"), ev(sent[0]!, "clicked"), ev(sent[0]!, "opened"), // one engagement
      ev(sent[1]!, "clicked"),
      ev(sent[3]!, "opened"),
      ev(sent[2]!, "opened", "f".repeat(32)), // not the customer of that action: ignored
    ];
    const res = await call("/v1/events", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ consent: { analytics: true }, events }) });
    expect(res.status).toBe(202);
    const chosen = await until(() => cell("chosen", 10), (c) => (c as { delivered: number }).delivered === 3 && (c as { engaged: number }).engaged === 2);
    expect(chosen).toEqual({ sent: 3, delivered: 3, opened: 1, clicked: 2, bounced: 0, unsubscribed: 0, engaged: 2 });
    expect(await until(() => cell("explore", 18), (c) => (c as { engaged: number }).engaged === 1)).toEqual({ sent: 2, delivered: 2, opened: 1, clicked: 0, bounced: 0, unsubscribed: 0, engaged: 1 });

    // A redelivered batch (the same stored events again) changes nothing.
    const ids = sent.map((a) => a.decisionId);
    const { results } = await env.DB.prepare(`SELECT * FROM events WHERE decision_id IN (${ids.map(() => "?").join(", ")})`).bind(...ids).all<Record<string, never>>();
    const records: StoredEvent[] = results.map((r) => ({ id: r.id, time: r.time, type: r.type, name: r.name, decisionId: r.decision_id, visitorKey: r.visitor_key, blockId: r.block_id, slot: r.slot, value: r.value, currency: r.currency }));
    const { batch } = messageBatch("nextbest-log", [{ id: "again", body: { v: 1, kind: "events", records }, attempts: 2 }]);
    await consumeLog(batch, consumerDeps(env));
    expect(await cell("chosen", 10)).toEqual(chosen);

    // The report reads the same cells.
    const report = (await (await admin("/admin/reports/channels?channel=email")).json()) as { channels: Array<Record<string, unknown>>; sendTimeLift: Record<string, unknown>; methods: Record<string, string> };
    expect(report.channels[0]).toMatchObject({ channel: "email", sent: 5, engaged: 3 });
    expect(report.sendTimeLift).toMatchObject({ treatmentCounts: { sent: 3, engaged: 2 }, controlCounts: { sent: 2, engaged: 1 } });
    expect(report.methods.sendTimeLift).toContain("Newcombe");

    // Deliveries are queryable with their feedback and attempts.
    const q = (await (await admin(`/admin/deliveries?decisionId=${sent[0]!.decisionId}`)).json()) as { deliveries: Array<Record<string, unknown>> };
    expect(q.deliveries[0]).toMatchObject({ state: "sent", attempts: 1, feedback: { delivered: true, opened: true, clicked: true }, attemptLog: [{ attempt: 1, status: 200, outcome: "sent" }] });
    expect(((await (await admin("/admin/deliveries?state=bogus")).json()) as { error: { code: string } }).error.code).toBe("invalid_request");

    // An unsubscribe opts the customer out of the channel: pending actions cancelled, none sent later.
    const customer = sent[4]!.customerKey;
    const pending: ScheduledAction = { decisionId: `fb-${LATER}-pending`, customerKey: customer, channel: "email", actionId: "next", contentRef: "tmpl:next", sendAt: LATER + HOUR };
    await scheduleAction(env, pending);
    await call("/v1/events", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ consent: { analytics: true }, events: [ev(sent[4]!, "unsubscribed")] }) });
    const state = await until(() => runInDurableObject(outboxOf(env, customer), (o: Outbox) => ({ optOuts: o.optOuts(), list: o.list() })), (s) => s.optOuts.length > 0);
    expect(state.optOuts).toEqual(["email"]);
    expect(state.list.find((a) => a.decisionId === pending.decisionId)?.state).toBe("cancelled");
    expect(await until(() => cell("explore", 18), (c) => (c as { unsubscribed: number }).unsubscribed === 1)).toMatchObject({ unsubscribed: 1 });
  });

  it("refuses feedback without a decision id", async () => {
    const res = await call("/v1/events", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ consent: { analytics: true }, events: [{ type: "opened", visitorId: "v" }] }) });
    expect(res.status).toBe(400);
  });
});

/** Wilson bounds found by bisection on the score equation |p̂ − p| = z·sqrt(p(1 − p)/n): independent of the closed form. */
function wilsonByBisection(x: number, n: number, z = 1.959963984540054): [number, number] {
  const p = x / n;
  const solve = (lo: number, hi: number, below: boolean) => {
    for (let i = 0; i < 200; i++) {
      const mid = (lo + hi) / 2;
      const outside = Math.abs(p - mid) > z * Math.sqrt((mid * (1 - mid)) / n);
      if (outside === below) lo = mid;
      else hi = mid;
    }
    return (lo + hi) / 2;
  };
  return [x === 0 ? 0 : solve(0, p, true), x === n ? 1 : solve(p, 1, false)];
}

function newcombeReference(x1: number, n1: number, x2: number, n2: number): [number, number] {
  const [l1, u1] = wilsonByBisection(x1, n1);
  const [l2, u2] = wilsonByBisection(x2, n2);
  const p1 = x1 / n1;
  const p2 = x2 / n2;
  return [p1 - p2 - Math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), p1 - p2 + Math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)];
}

const cells = (chosen: [number, number], control: [number, number]): ActivationCell[] => {
  const base = { channel: "email", delivered: 0, opened: 0, clicked: 0, bounced: 0, unsubscribed: 0 };
  return [
    { ...base, hour_of_week: 10, send_time_arm: "chosen", fallback_hour: 0, sent: chosen[1], engaged: chosen[0] },
    { ...base, hour_of_week: 18, send_time_arm: "explore", fallback_hour: 1, sent: control[1], engaged: control[0] },
    // Exploration at other hours and the thin-data fallback arm are not the comparison.
    { ...base, hour_of_week: 3, send_time_arm: "explore", fallback_hour: 0, sent: 40, engaged: 1 },
    { ...base, hour_of_week: 18, send_time_arm: "fallback", fallback_hour: 1, sent: 90, engaged: 9 },
  ];
};

describe("send-time lift", () => {
  // Newcombe (1998), Statistics in Medicine 17:873–890, Table II, method 10 (hybrid score, no CC).
  it.each([
    [[56, 70], [48, 80], 0.0524, 0.3339],
    [[9, 10], [3, 10], 0.1705, 0.809],
  ] as const)("chosen %j vs fallback-hour exploration %j: Newcombe's published interval", (t, k, low, high) => {
    const { sendTimeLift } = channelReport(cells([...t], [...k]));
    expect(sendTimeLift.absoluteLift.estimate).toBeCloseTo(t[0] / t[1] - k[0] / k[1], 12);
    expect(sendTimeLift.absoluteLift.low).toBeCloseTo(low, 4);
    expect(sendTimeLift.absoluteLift.high).toBeCloseTo(high, 3);
  });

  it.each([[[30, 200], [22, 210]], [[5, 12], [0, 9]], [[120, 400], [130, 380]]] as const)("%j vs %j matches an independent bisection computation", (t, k) => {
    const { sendTimeLift, arms } = channelReport(cells([...t], [...k]));
    const [low, high] = newcombeReference(t[0], t[1], k[0], k[1]);
    expect(sendTimeLift.absoluteLift.low).toBeCloseTo(low, 9);
    expect(sendTimeLift.absoluteLift.high).toBeCloseTo(high, 9);
    expect(arms.map((a) => a.arm)).toEqual(["chosen", "explore", "fallback"]);
  });
});
