// POST /v1/next-action and /admin/actions in workerd with real bindings: guardrails through the
// route, the contact policy across channels and web under concurrent requests, quiet hours and
// DST, holdouts, bad input, engagement counts and unsubscribes.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { createApp } from "../../worker/app.ts";
import { memoryAuditSink } from "../../worker/audit/record.ts";
import { customerKey, customerObject, type IdentityEnv } from "../../worker/identity/keys.ts";
import { recordEngagement, setChannelOptIn } from "../../worker/next-action/channel-state.ts";
import { memoryScheduler } from "../../worker/next-action/scheduler.ts";
import { momentsConfigSchema } from "../../worker/moments/schema.ts";
import type { MomentStore } from "../../worker/moments/store.ts";
import { ADMIN, writeAudit } from "./audit-fixtures.ts";

const clock = { now: Date.parse("2026-06-03T06:30:00Z") };
let scheduler = memoryScheduler();
let audit = memoryAuditSink();
let holdoutRate = 0;
let ids = 0;
/** A moments configuration in which the `winback` moment lists `email-renew` as eligible (no action lists winback itself). */
const MOMENTS: MomentStore = {
  current: async () => ({
    version: 1,
    config: momentsConfigSchema.parse({ moments: [{ id: "winback", trigger: { event: "na_test_never_sent" }, exit: { event: "conversion" }, kpi: { event: "conversion", windowSeconds: 86_400 }, actions: ["email-renew"] }] }),
    author: "test",
    createdAt: 0,
    action: "put",
  }),
} as unknown as MomentStore;
const app = createApp(() => ({ now: () => clock.now, scheduler, audit, newId: () => `na-${++ids}`, holdout: { rate: holdoutRate, salt: "na-test" }, epsilon: 0, moments: MOMENTS }));

async function fetchApp(path: string, init: RequestInit = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await app.fetch(new Request(`http://nextbest.test${path}`, init), env, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}
const json = (method: string, body: unknown, headers: Record<string, string> = ADMIN) => ({ method, headers: { ...headers, "content-type": "application/json" }, body: JSON.stringify(body) });

interface Answer {
  decisionId: string;
  channel: string | null;
  actionId: string | null;
  contentRef: string | null;
  sendAt: string | null;
  holdout: boolean;
  counterfactual?: { channel: string; actionId: string; sendAt: string } | null;
  scheduled: boolean;
  sendTime: { method: string; hourOfWeek: number } | null;
  propensities: { channels: Record<string, number>; action: number | null; hour: number | null; chosen: number | null };
  reasons: string[];
  excluded: Array<{ actionId: string; reason: string }>;
}
const nextAction = (body: unknown) => fetchApp("/v1/next-action", json("POST", body));
async function nextActionOk(body: unknown): Promise<Answer> {
  const res = await nextAction(body);
  if (res.status !== 200) throw new Error(`next-action answered ${res.status}: ${await res.text()}`);
  return res.json();
}
const profiles = (lines: unknown[]) => fetchApp("/admin/profiles", { method: "POST", headers: { ...ADMIN, "content-type": "application/x-ndjson" }, body: lines.map((l) => JSON.stringify(l)).join("\n") });
const keyOf = (id: string) => customerKey(env as IdentityEnv, id);
const customer = async (id: string) => env.VISITOR.get(env.VISITOR.idFromName(customerObject(await keyOf(id))));
const sends = async (id: string) => (await (await customer(id)).outboundState()).counts.sends.reduce((a, b) => a + b, 0);

const ACTIONS = [
  { id: "email-renew", channel: "email", contentRef: "tpl-renew", value: 3 },
  { id: "push-renew", channel: "push", contentRef: "push-renew", value: 2 },
  { id: "sms-renew", channel: "sms", contentRef: "sms-renew", value: 1 },
  { id: "web-banner", channel: "web", contentRef: "hero-renew", value: 1 },
  { id: "sales-call", channel: "sales_task", contentRef: "task-call", value: 5, condition: { "==": [{ var: "profile.tier" }, "gold"] } },
  { id: "renewal-mail", channel: "email", contentRef: "tpl-renewal-window", value: 50, moments: ["renewal"] },
  // Only for customers of enterprise accounts (account traits from POST /admin/profiles).
  { id: "enterprise-mail", channel: "email", contentRef: "tpl-enterprise", value: 80, condition: { "==": [{ var: "account.plan" }, "enterprise"] } },
];
const putActions = (doc: unknown, headers: Record<string, string> = {}) => fetchApp("/admin/actions", json("PUT", doc, { ...ADMIN, ...headers }));
const ALL_CHANNELS = { email: true, push: true, sms: true };

beforeEach(async () => {
  scheduler = memoryScheduler();
  audit = memoryAuditSink();
  holdoutRate = 0;
  clock.now = Date.parse("2026-06-03T06:30:00Z");
  expect((await putActions({ actions: ACTIONS })).status).toBe(200);
});

describe("/admin/actions", () => {
  it("versions the catalog: PUT, GET, history, If-Match, rollback; refuses bad documents and changes nothing", async () => {
    const v1 = (await (await fetchApp("/admin/actions", { headers: ADMIN })).json()) as { version: number; catalog: { actions: unknown[]; policy: { contactPolicy: { weekly: number } } } };
    expect(v1.catalog.actions).toHaveLength(ACTIONS.length);
    expect(v1.catalog.policy.contactPolicy.weekly).toBe(3);
    for (const [doc, code] of [
      [{ actions: [{ ...ACTIONS[0], channel: "fax" }] }, "invalid_config"],
      [{ actions: [ACTIONS[0], ACTIONS[0]] }, "invalid_config"],
      [{ actions: [{ ...ACTIONS[0], condition: { method: ["x", "toString"] } }] }, "invalid_config"],
      [{ actions: [], policy: { sendTime: { defaultTimeZone: "Mars/Olympus" } } }, "invalid_config"],
      [{ actions: [], extra: 1 }, "invalid_config"],
    ] as const) {
      const res = await putActions(doc);
      expect(res.status).toBe(422);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe(code);
    }
    expect(((await (await fetchApp("/admin/actions", { headers: ADMIN })).json()) as { version: number }).version).toBe(v1.version);
    expect((await putActions({ actions: [] }, { "if-match": `"${v1.version - 1}"` })).status).toBe(412);
    const v2 = await putActions({ actions: [ACTIONS[0]] }, { "if-match": `"${v1.version}"`, "x-nextbest-actor": "ana" });
    expect(v2.status).toBe(200);
    expect(v2.headers.get("etag")).toBe(`"${v1.version + 1}"`);
    const rolled = (await (await fetchApp("/admin/actions/rollback", json("POST", { version: v1.version }))).json()) as { version: number; action: string; restoredFrom: number; catalog: { actions: unknown[] } };
    expect(rolled).toMatchObject({ version: v1.version + 2, action: "rollback", restoredFrom: v1.version });
    expect(rolled.catalog.actions).toHaveLength(ACTIONS.length);
    for (const limit of ["0", "501", "abc"]) expect((await fetchApp(`/admin/actions/history?limit=${limit}`, { headers: ADMIN })).status).toBe(400);
    expect(((await (await fetchApp("/admin/actions/history?limit=1", { headers: ADMIN })).json()) as { versions: unknown[] }).versions).toHaveLength(1);
    const history = (await (await fetchApp("/admin/actions/history", { headers: ADMIN })).json()) as { versions: Array<{ version: number; author: string }> };
    expect(history.versions.slice(0, 2).map((v) => v.version)).toEqual([v1.version + 2, v1.version + 1]);
    expect(history.versions[1]!.author).toBe("ana");
    expect((await fetchApp("/admin/actions")).status).toBe(401);
  });
});

describe("POST /v1/next-action", () => {
  it("applies the guardrails with reason codes, then answers channel, action and sendAt with its offset", async () => {
    await profiles([{ customerId: "na-guard", traits: { tier: "silver", contact: { timeZone: "Europe/Paris", marketing: true, optIns: { email: true }, reachable: { email: true } } } }]);
    const a = await nextActionOk({ customerId: "na-guard" });
    expect(a.excluded).toEqual(
      expect.arrayContaining([
        { actionId: "push-renew", reason: "not_opted_in" },
        { actionId: "sms-renew", reason: "not_opted_in" },
        { actionId: "sales-call", reason: "condition_false" },
        { actionId: "renewal-mail", reason: "not_in_moment" },
      ]),
    );
    expect(["email-renew", "web-banner"]).toContain(a.actionId);
    expect(Object.keys(a.propensities.channels).sort()).toEqual(["email", "web"]);
    expect(a.sendAt).toMatch(/^2026-06-0[34]T\d\d:00:00\+02:00$|^2026-06-03T08:30:00\+02:00$/);
    expect(a.scheduled).toBe(true);
    expect(scheduler.scheduled).toEqual([expect.objectContaining({ decisionId: a.decisionId, customerKey: await keyOf("na-guard"), actionId: a.actionId, sendAt: Date.parse(a.sendAt!) })]);
    // The decision is logged with its channel, send time and propensities.
    expect(audit.records).toHaveLength(1);
    expect(audit.records[0]).toMatchObject({ decisionId: a.decisionId, slot: "next-action", chosenBlockId: a.actionId, holdout: false, nextAction: { channel: a.channel, sendAt: a.sendAt, timeZone: "Europe/Paris", scheduled: true } });
    // In the renewal moment the moment's own action is a candidate (and, worth 50, wins).
    await profiles([{ customerId: "na-guard-renewal", traits: { contact: { timeZone: "Europe/Paris", marketing: true, optIns: { email: true }, reachable: { email: true } } } }]);
    const renewal = await nextActionOk({ customerId: "na-guard-renewal", moment: "renewal", triggerAt: clock.now });
    expect(renewal.actionId).toBe("renewal-mail");
    // The same customer again within the day: e-mail has had its message (one per channel per day).
    const again = await nextActionOk({ customerId: "na-guard-renewal", moment: "renewal" });
    expect(again.excluded).toContainEqual({ actionId: "renewal-mail", reason: "channel_daily_cap" });
  });

  it("in a moment, the actions its configuration lists are eligible too; the others are not_in_moment", async () => {
    await profiles([{ customerId: "na-winback", traits: { contact: { timeZone: "Europe/Paris", marketing: true, optIns: ALL_CHANNELS, reachable: ALL_CHANNELS } } }]);
    const a = await nextActionOk({ customerId: "na-winback", moment: "winback" });
    expect(a.actionId).toBe("email-renew");
    for (const other of ["push-renew", "sms-renew", "renewal-mail", "enterprise-mail"]) expect(a.excluded).toContainEqual({ actionId: other, reason: "not_in_moment" });
  });

  it("action conditions read the customer's account traits", async () => {
    const contact = { timeZone: "Europe/Paris", marketing: true, optIns: { email: true }, reachable: { email: true } };
    expect((await profiles([
      { accountId: "na-acme", accountTraits: { plan: "enterprise" } },
      { accountId: "na-corner-shop", accountTraits: { plan: "starter" } },
      { customerId: "na-acme-buyer", traits: { contact }, accountId: "na-acme" },
      { customerId: "na-shop-buyer", traits: { contact }, accountId: "na-corner-shop" },
    ])).status).toBe(200);
    expect((await nextActionOk({ customerId: "na-acme-buyer" })).actionId).toBe("enterprise-mail");
    const starter = await nextActionOk({ customerId: "na-shop-buyer" });
    expect(starter.actionId).not.toBe("enterprise-mail");
    expect(starter.excluded).toContainEqual({ actionId: "enterprise-mail", reason: "condition_false" });
  });

  it("without marketing consent or reachability nothing is proposed, and nothing is recorded", async () => {
    await profiles([{ customerId: "na-noconsent", traits: { contact: { marketing: false, optIns: ALL_CHANNELS, reachable: ALL_CHANNELS } } }]);
    const a = await nextActionOk({ customerId: "na-noconsent" });
    expect(a.channel).toBeNull();
    expect(a.reasons).toContain("no_eligible_action");
    expect(new Set(a.excluded.map((e) => e.reason))).toEqual(new Set(["no_marketing_consent", "not_in_moment"]));
    expect(scheduler.scheduled).toEqual([]);
    expect(await sends("na-noconsent")).toBe(0);
  });

  it("holds the cross-channel contact policy over web and outbound under concurrent requests: no 4th message in a week", async () => {
    await profiles([{ customerId: "na-caps", traits: { contact: { timeZone: "UTC", marketing: true, optIns: ALL_CHANNELS, reachable: ALL_CHANNELS } } }]);
    // A personalised web exposure, recorded in the same customer object as web decides record it.
    await (await customer("na-caps")).recordImpression({ decisionId: "web-1", blockId: "hero-shoes", campaign: "spring", personalized: true, at: clock.now - 3_600_000 }, clock.now);
    const answers = await Promise.all(Array.from({ length: 8 }, () => nextActionOk({ customerId: "na-caps" })));
    const sent = answers.filter((a) => a.channel !== null);
    expect(sent).toHaveLength(2);
    // One per channel per day, web already used by the exposure.
    expect(new Set(sent.map((a) => a.channel)).size).toBe(2);
    expect(sent.map((a) => a.channel)).not.toContain("web");
    for (const a of answers.filter((x) => x.channel === null)) expect(a.excluded.map((e) => e.reason)).toContain("weekly_cap");
    expect(scheduler.scheduled).toHaveLength(2);
    expect(await sends("na-caps")).toBe(2);
    // A week later the window has passed.
    clock.now += 8 * 86_400_000;
    expect((await nextActionOk({ customerId: "na-caps" })).channel).not.toBeNull();
  });

  it.each([
    // New York on its spring-forward day (00:30 EST): the fallback hour 10:00 is EDT.
    ["America/New_York", "2026-03-08T05:30:00Z", "2026-03-08T10:00:00-04:00"],
    // London on its fall-back day (00:30 BST): 10:00 is GMT.
    ["Europe/London", "2026-10-24T23:30:00Z", "2026-10-25T10:00:00+00:00"],
    // Tokyo at 14:30: today's 10:00 has passed, tomorrow's is inside the 24 h window.
    ["Asia/Tokyo", "2026-03-08T05:30:00Z", "2026-03-09T10:00:00+09:00"],
    ["Asia/Kolkata", "2026-03-08T01:00:00Z", "2026-03-08T10:00:00+05:30"],
  ])("sends in %s at the local fallback hour outside quiet hours, DST included (now %s → %s)", async (timeZone, now, sendAt) => {
    clock.now = Date.parse(now);
    await putActions({ actions: [ACTIONS[0]], policy: { sendTime: { epsilon: 0 } } });
    const id = `na-tz-${timeZone}`;
    await profiles([{ customerId: id, traits: { contact: { timeZone, marketing: true, optIns: { email: true }, reachable: { email: true } } } }]);
    const a = await nextActionOk({ customerId: id });
    expect(a.sendAt).toBe(sendAt);
    expect(a.sendTime?.method).toBe("fallback");
    expect(a.propensities.hour).toBe(1);
  });

  it("never sends inside quiet hours: a window that is all quiet excludes the channel with quiet_hours", async () => {
    // 22:00 in Paris, a 6 h window, quiet 21:00–08:00.
    clock.now = Date.parse("2026-06-03T20:00:00Z");
    await putActions({ actions: [ACTIONS[0], ACTIONS[3]], policy: { serviceWindowHours: 6 } });
    await profiles([{ customerId: "na-quiet", traits: { contact: { timeZone: "Europe/Paris", marketing: true, optIns: { email: true }, reachable: { email: true } } } }]);
    const a = await nextActionOk({ customerId: "na-quiet" });
    expect(a.excluded).toContainEqual({ actionId: "email-renew", reason: "quiet_hours" });
    // Web is not a quiet-hours channel: shown at once.
    expect(a).toMatchObject({ channel: "web", sendTime: { method: "immediate" }, sendAt: "2026-06-03T22:00:00+02:00" });
    // A trigger older than its window: nothing.
    const late = await nextActionOk({ customerId: "na-quiet", triggerAt: clock.now - 7 * 3_600_000 });
    expect(late.channel).toBeNull();
    expect(late.excluded.map((e) => e.reason)).toEqual(["outside_service_window", "outside_service_window"]);
  });

  it("a held-out customer gets no message; the counterfactual is logged and no contact is recorded", async () => {
    holdoutRate = 1;
    await profiles([{ customerId: "na-held", traits: { contact: { marketing: true, optIns: { email: true }, reachable: { email: true } } } }]);
    const a = await nextActionOk({ customerId: "na-held" });
    expect(a).toMatchObject({ holdout: true, channel: null, actionId: null, sendAt: null, scheduled: false });
    expect(a.counterfactual?.actionId).toBeTruthy();
    expect(scheduler.scheduled).toEqual([]);
    expect(await sends("na-held")).toBe(0);
    expect(audit.records[0]).toMatchObject({ reason: "holdout", holdout: true, chosenBlockId: "none", counterfactualBlockId: a.counterfactual!.actionId });
  });

  it.each([
    ["no bearer token", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ customerId: "na-bad" }) }, 401],
    ["a wrong token", json("POST", { customerId: "na-bad" }, { authorization: "Bearer nope" }), 401],
    ["not JSON", { method: "POST", headers: { ...ADMIN, "content-type": "text/plain" }, body: "{}" }, 415],
    ["broken JSON", { method: "POST", headers: { ...ADMIN, "content-type": "application/json" }, body: "{" }, 400],
    ["no customerId", json("POST", { moment: "renewal" }), 400],
    ["an unknown field", json("POST", { customerId: "na-bad", email: "x@y.z" }), 400],
    ["a bad moment id", json("POST", { customerId: "na-bad", moment: "../x" }), 400],
    ["a trigger in the future", json("POST", { customerId: "na-bad", triggerAt: Date.parse("2026-06-04T00:00:00Z") }), 400],
    ["a trigger that is not a date", json("POST", { customerId: "na-bad", triggerAt: "yesterday" }), 400],
    ["a body over 4 KB", json("POST", { customerId: "x".repeat(5000) }), 413],
  ])("refuses %s and stores nothing", async (_, init, status) => {
    const res = await fetchApp("/v1/next-action", init as RequestInit);
    expect(res.status).toBe(status);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBeTruthy();
    expect(scheduler.scheduled).toEqual([]);
    expect(audit.records).toEqual([]);
    expect(await sends("na-bad")).toBe(0);
  });

  it("counts engagement at the message's send hour once; an unsubscribe turns the channel off and survives a CRM upload", async () => {
    await profiles([{ customerId: "na-engage", traits: { contact: { timeZone: "America/Chicago", marketing: true, optIns: { email: true }, reachable: { email: true } } } }]);
    await putActions({ actions: [ACTIONS[0]] });
    const a = await nextActionOk({ customerId: "na-engage" });
    expect(a.channel).toBe("email");
    const key = await keyOf("na-engage");
    const population = async () => (await env.DB.prepare("SELECT engaged FROM send_time_population WHERE hour_of_week = ?").bind(a.sendTime!.hourOfWeek).first<{ engaged: number }>())?.engaged ?? 0;
    const before = await population();
    expect(await recordEngagement(env, { customerKey: key, kind: "opened", decisionId: a.decisionId, at: clock.now + 30 * 3_600_000 })).toBe(a.sendTime!.hourOfWeek);
    expect(await recordEngagement(env, { customerKey: key, kind: "clicked", decisionId: a.decisionId, at: clock.now + 31 * 3_600_000 })).toBeNull();
    expect(await population()).toBe(before + 1);
    const counts = (await (await customer("na-engage")).outboundState()).counts;
    expect([counts.sends[a.sendTime!.hourOfWeek], counts.engaged[a.sendTime!.hourOfWeek]]).toEqual([1, 1]);

    await setChannelOptIn(env, key, "email", false);
    await profiles([{ customerId: "na-engage", traits: { contact: { reachable: { push: true } } } }]);
    clock.now += 2 * 86_400_000;
    const b = await nextActionOk({ customerId: "na-engage" });
    expect(b.channel).toBeNull();
    expect(b.excluded).toEqual([{ actionId: "email-renew", reason: "not_opted_in" }]);
  });

  it("erasing the customer reaches their next-action decisions (logged under the customer key) and their object", async () => {
    await profiles([{ customerId: "na-erase", traits: { contact: { marketing: true, optIns: { email: true }, reachable: { email: true } } } }]);
    const a = await nextActionOk({ customerId: "na-erase" });
    const key = await keyOf("na-erase");
    // The row the log queue writes for this decision (the queue is exercised by the pipeline tests).
    await writeAudit([audit.records[0]!]);
    const row = await env.DB.prepare("SELECT next_action FROM decisions WHERE visitor_key = ?").bind(key).first<{ next_action: string }>();
    expect(JSON.parse(row!.next_action)).toMatchObject({ channel: a.channel, sendAt: a.sendAt, scheduled: true });
    expect((await fetchApp("/admin/customers/na-erase", { method: "DELETE", headers: ADMIN })).status).toBe(200);
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM decisions WHERE visitor_key = ?").bind(key).first<{ n: number }>()).toEqual({ n: 0 });
    expect(await sends("na-erase")).toBe(0);
    expect(a.decisionId).toBe(audit.records[0]!.decisionId);
  });

  it("a decision that cannot be scheduled is answered not_scheduled and does not count against the contact policy", async () => {
    const failing = { async schedule() { throw new Error("webhook scheduler down"); } };
    const unscheduled = createApp(() => ({ now: () => clock.now, scheduler: failing, audit, newId: () => `na-${++ids}`, holdout: { rate: 0, salt: "na-test" }, epsilon: 0 }));
    await putActions({ actions: [ACTIONS[0]] });
    await profiles([{ customerId: "na-unscheduled", traits: { contact: { marketing: true, optIns: { email: true }, reachable: { email: true } } } }]);
    for (let i = 0; i < 2; i++) {
      const ctx = createExecutionContext();
      const res = await unscheduled.fetch(new Request("http://nextbest.test/v1/next-action", json("POST", { customerId: "na-unscheduled" })), env, ctx);
      await waitOnExecutionContext(ctx);
      // Both times e-mail is admitted: the first, never sent, did not use the day's e-mail message.
      expect(await res.json()).toMatchObject({ channel: "email", scheduled: false, reasons: expect.arrayContaining(["not_scheduled"]) });
    }
    expect(await sends("na-unscheduled")).toBe(0);
  });
});

