// Activation: the Outbox Durable Object keeps scheduled actions and delivers them from its alarm to
// the channel's webhook — signed, retried after 5xx, not sent after a cancel, never twice. The
// alarm runs with an injected clock (runDurableObjectAlarm, no waiting); the receiver is handed to
// the object as its transport and verifies every signature. The same delivery through real
// loopback HTTP is test/e2e/activation-webhook.test.ts.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { saveChannel } from "../../worker/activation/channels.ts";
import type { Outbox } from "../../worker/activation/outbox.ts";
import { cancelActions, outboxOf, scheduleAction } from "../../worker/activation/schedule.ts";
import { SIGNATURE_TOLERANCE_SECONDS, verifySignature } from "../../worker/activation/signature.ts";
import type { ScheduledAction } from "../../worker/activation/types.ts";
import { setKillSwitch } from "../../worker/kill-switch/store.ts";
/** The binding of vitest.config.ts (TEST_WEBHOOK_SECRET). */
const TEST_WEBHOOK_SECRET = env.ACTIVATION_WEBHOOK_SECRET;

const HOUR = 3_600_000;
/** Far enough ahead that the real alarm never fires during a test: only runDurableObjectAlarm runs it. */
const LATER = Date.now() + 24 * HOUR;

interface Received { body: string; headers: Headers; check: string }

/** A webhook receiver: verifies the signature, answers the scripted statuses, then 200. */
function receiver(statuses: number[] = []) {
  const received: Received[] = [];
  const transport = async (req: Request, nowMs: number) => {
    const body = await req.text();
    const check = await verifySignature(TEST_WEBHOOK_SECRET, req.headers.get("x-nextbest-signature"), body, Math.floor(nowMs / 1000));
    received.push({ body, headers: req.headers, check });
    return new Response(null, { status: statuses.shift() ?? 200 });
  };
  return { received, transport };
}

let seq = 0;
function action(over: Partial<ScheduledAction> = {}): ScheduledAction {
  seq++;
  return { decisionId: `d-${Date.now()}-${seq}`, customerKey: (seq.toString(16) + "a".repeat(32)).slice(0, 32), channel: "email", actionId: "winback", contentRef: "tmpl:winback-1", sendAt: LATER, moment: "renewal", ...over };
}

/** Runs the customer's alarm at `at` with `rx` as the network. */
async function fire(a: ScheduledAction, at: number, rx: ReturnType<typeof receiver>) {
  const stub = outboxOf(env, a.customerKey);
  await runInDurableObject(stub, (o: Outbox) => {
    o.now = () => at;
    o.transport = (req) => rx.transport(req, at);
  });
  return runDurableObjectAlarm(stub);
}

const listOf = (a: ScheduledAction) => runInDurableObject(outboxOf(env, a.customerKey), (o: Outbox) => o.list());
const d1Row = (id: string) => env.DB.prepare("SELECT * FROM activation_actions WHERE decision_id = ?").bind(id).first<Record<string, unknown>>();
const attempts = (id: string) => env.DB.prepare("SELECT attempt, status, outcome, next_at FROM activation_attempts WHERE decision_id = ? ORDER BY attempt").bind(id).all().then((r) => r.results);

beforeEach(async () => {
  await saveChannel(env.DB, "email", { url: "https://esp.example/hooks/nextbest", secretName: "ACTIVATION_WEBHOOK_SECRET", enabled: true, maxAttempts: 3, retryBaseMs: 1000, timeoutMs: 5000 }, "test", Date.now());
});

describe("Outbox", () => {
  it("delivers at sendAt a signed body with the customer key and an idempotency key, not before", async () => {
    const a = action();
    expect(await scheduleAction(env, a)).toEqual({ decisionId: a.decisionId, created: true, state: "scheduled" });
    const rx = receiver();
    await fire(a, a.sendAt - 1, rx);
    expect(rx.received).toHaveLength(0);
    await fire(a, a.sendAt, rx);
    expect(rx.received).toHaveLength(1);
    const [got] = rx.received;
    expect(got!.check).toBe("ok");
    expect(got!.headers.get("idempotency-key")).toBe(a.decisionId);
    expect(JSON.parse(got!.body)).toEqual({ decisionId: a.decisionId, customerKey: a.customerKey, channel: "email", actionId: "winback", contentRef: "tmpl:winback-1", sendAt: new Date(a.sendAt).toISOString(), moment: "renewal" });
    // A receiver refuses a tampered body and a replay outside the window.
    expect(await verifySignature(TEST_WEBHOOK_SECRET, got!.headers.get("x-nextbest-signature"), got!.body.replace("winback", "other"), Math.floor(a.sendAt / 1000))).toBe("mismatch");
    expect(await verifySignature(TEST_WEBHOOK_SECRET, got!.headers.get("x-nextbest-signature"), got!.body, Math.floor(a.sendAt / 1000) + SIGNATURE_TOLERANCE_SECONDS + 1)).toBe("expired");
    expect(await listOf(a)).toEqual([{ decisionId: a.decisionId, state: "sent", attempts: 1, nextAt: null }]);
    expect(await d1Row(a.decisionId)).toMatchObject({ state: "sent", attempts: 1, sent_at: a.sendAt, customer_key: a.customerKey });
  });

  it("retries 5xx with exponential backoff, then delivers; every attempt recorded", async () => {
    const a = action();
    await scheduleAction(env, a);
    const rx = receiver([500, 503]);
    await fire(a, a.sendAt, rx);
    expect((await listOf(a))[0]).toMatchObject({ state: "retrying", attempts: 1, nextAt: a.sendAt + 1000 });
    await fire(a, a.sendAt + 999, rx); // not due yet
    expect(rx.received).toHaveLength(1);
    await fire(a, a.sendAt + 1000, rx);
    expect((await listOf(a))[0]).toMatchObject({ state: "retrying", attempts: 2, nextAt: a.sendAt + 1000 + 2000 });
    await fire(a, a.sendAt + 3000, rx);
    expect(rx.received.map((r) => [r.check, r.headers.get("x-nextbest-delivery-attempt"), r.headers.get("idempotency-key")])).toEqual([
      ["ok", "1", a.decisionId], ["ok", "2", a.decisionId], ["ok", "3", a.decisionId],
    ]);
    // Same body on every attempt (re-signed with its own timestamp).
    expect(new Set(rx.received.map((r) => r.body)).size).toBe(1);
    expect(await attempts(a.decisionId)).toEqual([
      { attempt: 1, status: 500, outcome: "retry", next_at: a.sendAt + 1000 },
      { attempt: 2, status: 503, outcome: "retry", next_at: a.sendAt + 3000 },
      { attempt: 3, status: 200, outcome: "sent", next_at: null },
    ]);
    expect(await d1Row(a.decisionId)).toMatchObject({ state: "sent", attempts: 3 });
  });

  it("gives up after maxAttempts (failed), and does not retry a 4xx", async () => {
    const a = action();
    await scheduleAction(env, a);
    const rx = receiver([500, 500, 500, 500]);
    await fire(a, a.sendAt, rx);
    await fire(a, a.sendAt + 1000, rx);
    await fire(a, a.sendAt + 3000, rx);
    await fire(a, a.sendAt + 100 * HOUR, rx);
    expect(rx.received).toHaveLength(3);
    expect(await d1Row(a.decisionId)).toMatchObject({ state: "failed", attempts: 3 });
    expect((await attempts(a.decisionId)).map((r) => r.outcome)).toEqual(["retry", "retry", "failed"]);

    const b = action();
    await scheduleAction(env, b);
    const rx2 = receiver([410]);
    await fire(b, b.sendAt, rx2);
    await fire(b, b.sendAt + HOUR, rx2);
    expect(rx2.received).toHaveLength(1);
    expect(await d1Row(b.decisionId)).toMatchObject({ state: "failed", attempts: 1 });
  });

  it("is not sent after an exit rule cancelled it (by moment), and the reason is recorded", async () => {
    const a = action({ moment: "renewal" });
    const other = { ...action({ moment: "onboarding" }), customerKey: a.customerKey };
    await scheduleAction(env, a);
    await scheduleAction(env, other);
    expect(await cancelActions(env, a.customerKey, { moment: "renewal", reason: "converted" })).toEqual({ cancelled: [a.decisionId], tooLate: [] });
    const rx = receiver();
    await fire(a, a.sendAt + HOUR, rx);
    expect(rx.received.map((r) => JSON.parse(r.body).decisionId)).toEqual([other.decisionId]);
    expect(await d1Row(a.decisionId)).toMatchObject({ state: "cancelled", cancel_reason: "converted" });
    // Cancelling after the send is too late, and says so.
    expect(await cancelActions(env, a.customerKey, { reason: "converted" })).toEqual({ cancelled: [], tooLate: [other.decisionId] });
  });

  it("is not sent while the kill switch is on: cancelled at its send time with the reason kill_switch", async () => {
    const a = action();
    await scheduleAction(env, a);
    await setKillSwitch(env.DB, env.CONFIG, true, "activation test", "test", Date.now());
    try {
      const rx = receiver();
      await fire(a, a.sendAt + HOUR, rx);
      expect(rx.received).toEqual([]);
      expect(await d1Row(a.decisionId)).toMatchObject({ state: "cancelled", cancel_reason: "kill_switch" });
    } finally {
      await setKillSwitch(env.DB, env.CONFIG, false, null, "test", Date.now());
    }
    // Turned off again: what is scheduled from now on is sent.
    const b = action();
    await scheduleAction(env, b);
    const rx = receiver();
    await fire(b, b.sendAt + HOUR, rx);
    expect(rx.received).toHaveLength(1);
  });

  it("never sends twice: repeated schedule, alarm re-runs, and a crash between send and record (same idempotency key)", async () => {
    const a = action();
    await scheduleAction(env, a);
    expect(await scheduleAction(env, { ...a, sendAt: a.sendAt - HOUR })).toEqual({ decisionId: a.decisionId, created: false, state: "scheduled" });
    const rx = receiver();
    await fire(a, a.sendAt, rx);
    await fire(a, a.sendAt + HOUR, rx);
    await runInDurableObject(outboxOf(env, a.customerKey), (o: Outbox) => o.alarm());
    expect(await scheduleAction(env, a)).toMatchObject({ created: false, state: "sent" });
    await fire(a, a.sendAt + 2 * HOUR, rx);
    expect(rx.received).toHaveLength(1);

    // A crash after the request left and before `sent` was written leaves the action `sending`:
    // the next alarm resends it with the same body and Idempotency-Key, so the receiver dedupes.
    const b = action();
    await scheduleAction(env, b);
    await runInDurableObject(outboxOf(env, b.customerKey), (o: Outbox, state) => {
      state.storage.sql.exec("UPDATE outbox SET state = 'sending', attempts = 1, next_at = ? WHERE decision_id = ?", b.sendAt, b.decisionId);
    });
    const rx2 = receiver();
    await fire(b, b.sendAt + 1, rx2);
    expect(rx2.received.map((r) => [r.headers.get("idempotency-key"), r.headers.get("x-nextbest-delivery-attempt")])).toEqual([[b.decisionId, "2"]]);
    expect((await listOf(b))[0]).toMatchObject({ state: "sent", attempts: 2 });
  });

  it("records a held-out customer's action as the counterfactual and never delivers it", async () => {
    const a = action({ holdout: true });
    expect(await scheduleAction(env, a)).toMatchObject({ created: true, state: "held_out" });
    const rx = receiver();
    await fire(a, a.sendAt + HOUR, rx);
    expect(rx.received).toHaveLength(0);
    expect(await d1Row(a.decisionId)).toMatchObject({ state: "held_out", attempts: 0 });
  });

  it("fails, recorded with the reason, when the channel has no webhook", async () => {
    const a = action({ channel: "sms" });
    await scheduleAction(env, a);
    const rx = receiver();
    await fire(a, a.sendAt, rx);
    expect(rx.received).toHaveLength(0);
    expect(await d1Row(a.decisionId)).toMatchObject({ state: "failed" });
    expect(await env.DB.prepare("SELECT error FROM activation_attempts WHERE decision_id = ?").bind(a.decisionId).first("error")).toBe("no webhook configured for channel sms");
  });

  it("refuses a raw customer id, an unknown channel or a send time no alarm can hold", async () => {
    await expect(scheduleAction(env, action({ sendAt: Date.UTC(9999, 11, 31) }))).rejects.toMatchObject({ code: "invalid_request" });
    await expect(scheduleAction(env, action({ customerKey: "alice@example.com" }))).rejects.toMatchObject({ code: "invalid_request" });
    await expect(scheduleAction(env, action({ channel: "web" }))).rejects.toMatchObject({ code: "invalid_request" });
  });
});

describe("POST /admin/deliveries (operator scheduling)", () => {
  it("refuses another customer's decisionId with 409 and leaves that action as it was", async () => {
    const adminHeaders = { authorization: `Bearer ${env.ADMIN_TOKEN}`, "content-type": "application/json" };
    const post = (customerId: string) =>
      exports.default.fetch("http://nextbest.test/admin/deliveries", {
        method: "POST", headers: adminHeaders,
        body: JSON.stringify({ customerId, decisionId: "operator-shared-1", channel: "email", actionId: "winback", contentRef: "tmpl:w", sendAt: LATER }),
      });
    const first = await post("owner@example.com");
    expect(first.status).toBe(201);
    const { customerKey } = (await first.json()) as { customerKey: string };
    const other = await post("someone-else@example.com");
    expect(other.status).toBe(409);
    expect(((await other.json()) as { error: { code: string } }).error.code).toBe("conflict");
    expect(await d1Row("operator-shared-1")).toMatchObject({ customer_key: customerKey, state: "scheduled" });
    // The same customer again is the idempotent repeat it always was.
    expect((await post("owner@example.com")).status).toBe(200);
  });

  it.each([["9999-12-31T00:00:00Z"], [8.64e15]])("refuses sendAt %s (past 2100) with a 4xx and schedules nothing", async (sendAt) => {
    const adminHeaders = { authorization: `Bearer ${env.ADMIN_TOKEN}`, "content-type": "application/json" };
    const decisionId = `operator-far-${String(sendAt).length}`;
    const res = await exports.default.fetch("http://nextbest.test/admin/deliveries", {
      method: "POST", headers: adminHeaders,
      body: JSON.stringify({ customerId: "far-future@example.com", decisionId, channel: "email", actionId: "winback", contentRef: "tmpl:w", sendAt }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: "invalid_request", message: expect.stringMatching(/sendAt/) });
    expect(await d1Row(decisionId)).toBeNull();
  });
});

describe("erasure", () => {
  it("DELETE /admin/customers/:id drops the customer's pending actions (never sent), their rows and feedback", async () => {
    const adminHeaders = { authorization: `Bearer ${env.ADMIN_TOKEN}`, "content-type": "application/json" };
    const res = await exports.default.fetch("http://nextbest.test/admin/deliveries", {
      method: "POST", headers: adminHeaders,
      body: JSON.stringify({ customerId: "erase-me@example.com", channel: "email", actionId: "winback", contentRef: "tmpl:w", sendAt: LATER }),
    });
    expect(res.status).toBe(201);
    const { decisionId, customerKey } = (await res.json()) as { decisionId: string; customerKey: string };
    expect(await d1Row(decisionId)).toMatchObject({ state: "scheduled" });
    const erased = await exports.default.fetch("http://nextbest.test/admin/customers/erase-me%40example.com", { method: "DELETE", headers: adminHeaders });
    expect(erased.status).toBe(200);
    expect(((await erased.json()) as { removed: { activation: number } }).removed.activation).toBe(2); // object row + D1 row
    expect(await d1Row(decisionId)).toBeNull();
    const rx = receiver();
    const a = { customerKey } as ScheduledAction;
    expect(await listOf(a)).toEqual([]);
    await fire(a, LATER + HOUR, rx);
    expect(rx.received).toHaveLength(0);
  });
});
