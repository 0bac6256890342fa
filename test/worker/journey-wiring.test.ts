// Issue 18's parts together, with the production services (no scheduler stand-in): a next-action
// decision waits in the customer's Outbox with its send-time arm; leaving the moment it was decided
// for cancels it; channel feedback through POST /v1/events updates the customer's own state (an
// open counts for send time, an unsubscribe turns the opt-in off).
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createApp } from "../../worker/app.ts";
import { customerObject } from "../../worker/identity/keys.ts";
import { notifyExits } from "../../worker/moments/exits.ts";
import { momentsConfigSchema } from "../../worker/moments/schema.ts";
// The Worker's entry module registers the moment-exit listener (as in production).
import "../../worker/index.ts";
import { ADMIN } from "./audit-fixtures.ts";
import { NOW, customer, decided, fetchApp, json, keyOf, listed, nextId, setUp } from "./journey-helpers.ts";

describe("next action → Outbox → feedback", () => {
  it("schedules into the customer's Outbox; leaving the moment cancels what was decided for it", async () => {
    await setUp("jw-moment");
    // One message per channel per day (the default contact policy): e-mail first, then push.
    const plain = await decided({ customerId: "jw-moment" });
    const inMoment = await decided({ customerId: "jw-moment", moment: "renewal" });
    expect([plain, inMoment].map((a) => [a.actionId, a.scheduled])).toEqual([["jw-mail", true], ["jw-renewal", true]]);
    expect((await listed("jw-moment")).map((a) => [a.decisionId, a.state]).sort()).toEqual([[inMoment.decisionId, "scheduled"], [plain.decisionId, "scheduled"]].sort());
    // The send-time arm reached the delivery record (what GET /admin/reports/channels groups by).
    const row = await env.DB.prepare("SELECT send_time_arm FROM activation_actions WHERE decision_id = ?").bind(plain.decisionId).first<string>("send_time_arm");
    expect(["chosen", "fallback", "explore"]).toContain(row);

    await notifyExits(env, customerObject(await keyOf("jw-moment")), ["renewal"], NOW + 60_000);
    const after = new Map((await listed("jw-moment")).map((a) => [a.decisionId, a.state]));
    expect(after.get(inMoment.decisionId)).toBe("cancelled");
    expect(after.get(plain.decisionId)).toBe("scheduled");
  });

  it("entering a moment with onEntry.nextAction schedules its action for the customer at once; its exit rule cancels it", async () => {
    await setUp("jw-entry");
    const key = await keyOf("jw-entry");
    // Local 22:00 now (quiet hours for e-mail, 21–8): the send time is hours ahead, so no real alarm fires during the test.
    const utcHour = new Date().getUTCHours();
    const offset = ((22 - utcHour + 36) % 24) - 12;
    const timeZone = `Etc/GMT${offset >= 0 ? "-" : "+"}${Math.abs(offset)}`;
    const line = { customerId: "jw-entry", traits: { contact: { timeZone, marketing: true, optIns: { email: true, push: true }, reachable: { email: true, push: true } } } };
    expect((await fetchApp("/admin/profiles", { method: "POST", headers: { ...ADMIN, "content-type": "application/x-ndjson" }, body: JSON.stringify(line) })).status).toBe(200);
    const config = momentsConfigSchema.parse({
      moments: [
        { id: "jw-cart", trigger: { event: "add_to_cart" }, exit: { event: "conversion" }, reentry: { maxEntries: 5 }, kpi: { event: "conversion", windowSeconds: 86_400 }, actions: ["jw-mail"], onEntry: { nextAction: true } },
        { id: "jw-signal", trigger: { condition: { "==": [{ var: "signals.jwSignal" }, 1] } }, exit: { event: "conversion" }, kpi: { event: "conversion", windowSeconds: 86_400 }, actions: ["jw-mail"], onEntry: { nextAction: true } },
      ],
    });
    const call = { config, key: customerObject(key) };
    const rows = () => env.DB.prepare("SELECT decision_id, action_id, moment, state FROM activation_actions WHERE customer_key = ? ORDER BY created_at, decision_id").bind(key).all<{ decision_id: string; action_id: string; moment: string; state: string }>().then((r) => r.results);
    const states = async () => (await rows()).map((r) => `${r.moment}:${r.state}`);
    const customerState = await customer("jw-entry");
    const events = (...names: string[]) => customerState.momentEvents(names.map((event) => ({ at: Date.now(), event })), call, Date.now());

    // Entered and left in one batch (add_to_cart then conversion in one beacon): nothing starts.
    const both = await events("add_to_cart", "conversion");
    expect([both.entered, both.exited]).toEqual([["jw-cart"], ["jw-cart"]]);
    // Entering (as the log consumer hands the event over for a linked visitor) schedules the moment's e-mail.
    expect((await events("add_to_cart")).entered).toEqual(["jw-cart"]);
    await expect.poll(states, { timeout: 20_000, interval: 100 }).toEqual(["jw-cart:scheduled"]);
    expect((await rows())[0]).toMatchObject({ action_id: "jw-mail" });
    // Converting exits the moment: what its journey scheduled is cancelled, never sent, and its
    // contact released — so entering again the same day schedules again (one e-mail a day otherwise).
    expect((await events("conversion")).exited).toEqual(["jw-cart"]);
    await expect.poll(states, { timeout: 20_000, interval: 100 }).toEqual(["jw-cart:cancelled"]);
    expect((await events("add_to_cart")).entered).toEqual(["jw-cart"]);
    await expect.poll(states, { timeout: 20_000, interval: 100 }).toEqual(["jw-cart:cancelled", "jw-cart:scheduled"]);
    expect((await events("conversion")).exited).toEqual(["jw-cart"]);
    await expect.poll(states, { timeout: 20_000, interval: 100 }).toEqual(["jw-cart:cancelled", "jw-cart:cancelled"]);

    // A debug decide (record=false) enters nothing for real, so it starts nothing; a recorded one does.
    const decideCall = { ...call, signals: { jwSignal: 1 } };
    expect(await customerState.momentsAtDecide(decideCall, Date.now(), false)).toEqual([expect.objectContaining({ id: "jw-signal" })]);
    await new Promise((r) => setTimeout(r, 500));
    expect(await states()).toEqual(["jw-cart:cancelled", "jw-cart:cancelled"]);
    expect(await customerState.momentsAtDecide(decideCall, Date.now(), true)).toEqual([expect.objectContaining({ id: "jw-signal" })]);
    await expect.poll(states, { timeout: 20_000, interval: 100 }).toEqual(["jw-cart:cancelled", "jw-cart:cancelled", "jw-signal:scheduled"]);

    // A moment without onEntry starts nothing (checked after the one above was seen to start).
    const quiet = momentsConfigSchema.parse({ moments: [{ ...config.moments[0]!, id: "jw-quiet", onEntry: undefined }] });
    expect((await customerState.momentEvents([{ at: Date.now(), event: "add_to_cart" }], { config: quiet, key: customerObject(key) }, Date.now())).entered).toEqual(["jw-quiet"]);
    await new Promise((r) => setTimeout(r, 500));
    expect(await states()).toEqual(["jw-cart:cancelled", "jw-cart:cancelled", "jw-signal:scheduled"]);
  });

  it("an open counts for the customer's send hour once; an unsubscribe, even without analytics consent, turns the customer's opt-in off", async () => {
    await setUp("jw-feedback");
    const a = await decided({ customerId: "jw-feedback" });
    const key = await keyOf("jw-feedback");
    const event = (type: string, consent: unknown = { analytics: true }) => fetchApp("/v1/events", json("POST", { consent, events: [{ type, decisionId: a.decisionId, visitorId: key }] }, {}));
    const engaged = async () => (await (await customer("jw-feedback")).outboundState()).counts.engaged.reduce((x: number, y: number) => x + y, 0);
    expect(await engaged()).toBe(0);
    expect((await event("opened")).status).toBe(202);
    expect(await engaged()).toBe(1);
    expect((await event("opened")).status).toBe(202);
    expect(await engaged()).toBe(1);
    // Without analytics consent the event is not stored, but the opt-out is obeyed.
    expect((await event("unsubscribed", { analytics: false })).status).toBe(202);
    const traits = (await (await customer("jw-feedback")).outboundState()).traits as { contact?: { optIns?: Record<string, boolean> } };
    expect(traits.contact?.optIns?.email).toBe(false);
    expect((await listed("jw-feedback")).find((x) => x.decisionId === a.decisionId)?.state).toBe("cancelled");
  });

  it("while the kill switch is on, next-action decides nothing and schedules nothing", async () => {
    await setUp("jw-killed");
    const killed = createApp(() => ({ now: () => NOW, newId: () => nextId("jw-k"), holdout: { rate: 0, salt: "jw-test" }, epsilon: 0, killSwitch: async () => ({ on: true }) }));
    const ctx = createExecutionContext();
    const res = await killed.fetch(new Request("http://nextbest.test/v1/next-action", json("POST", { customerId: "jw-killed" })), env, ctx);
    await waitOnExecutionContext(ctx);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ channel: null, actionId: null, scheduled: false, modelVersion: null, reasons: ["kill_switch"] });
    expect(await listed("jw-killed")).toEqual([]);
  });
});
