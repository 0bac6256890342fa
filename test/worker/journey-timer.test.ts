// Moments that begin with time alone start their journeys on time (worker/moments/timer.ts, the
// VisitorState alarm): "cart left for 1 hour" is entered an hour after the cart with no new event,
// and the moment's e-mail is scheduled then — with the production hooks and services.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { customerObject } from "../../worker/identity/keys.ts";
import { momentsConfigSchema } from "../../worker/moments/schema.ts";
import { MIN_TIMER_GAP_MS } from "../../worker/moments/timer.ts";
// The Worker's entry module registers the moment hooks (as in production).
import "../../worker/index.ts";
import { ADMIN } from "./audit-fixtures.ts";
import { customer, fetchApp, json, keyOf, setUp } from "./journey-helpers.ts";

const HOUR = 3_600_000;
const moments = momentsConfigSchema.parse({
  moments: [
    {
      id: "cart-left",
      trigger: {
        windows: { carts: { event: "add_to_cart", within: 86_400 }, buys: { event: "conversion", within: 86_400 } },
        condition: { and: [{ ">=": [{ var: "events.carts.ago" }, 3600] }, { "==": [{ var: "events.buys.count" }, 0] }] },
      },
      exit: { event: "conversion" },
      reentry: { maxEntries: 3 },
      kpi: { event: "conversion", windowSeconds: 86_400 },
      actions: ["jw-mail"],
      onEntry: { nextAction: true },
    },
  ],
});

/** Customer `id`, reachable by e-mail, whose local time is 22:00 now (quiet hours: nothing is due during the test). */
async function lateEveningCustomer(id: string) {
  await setUp(id);
  const offset = ((22 - new Date().getUTCHours() + 36) % 24) - 12;
  const timeZone = `Etc/GMT${offset >= 0 ? "-" : "+"}${Math.abs(offset)}`;
  const line = { customerId: id, traits: { contact: { timeZone, marketing: true, optIns: { email: true }, reachable: { email: true } } } };
  expect((await fetchApp("/admin/profiles", { method: "POST", headers: { ...ADMIN, "content-type": "application/x-ndjson" }, body: JSON.stringify(line) })).status).toBe(200);
  const key = await keyOf(id);
  const journeys = async () => (await env.DB.prepare("SELECT moment, state FROM activation_actions WHERE customer_key = ? ORDER BY created_at").bind(key).all<{ moment: string; state: string }>()).results.map((r) => `${r.moment}:${r.state}`);
  return { stub: await customer(id), call: { config: moments, key: customerObject(key) }, journeys };
}

const alarmOf = (stub: DurableObjectStub) => runInDurableObject(stub, (_o, state) => state.storage.getAlarm());

describe("the moment timer", () => {
  it("arms the alarm for an hour after the cart; at that hour the customer enters and the journey's e-mail is scheduled", async () => {
    const { stub, call, journeys } = await lateEveningCustomer("jt-on-time");
    const cart = Date.now();
    expect((await stub.momentEvents([{ at: cart, event: "add_to_cart" }], call, cart)).entered).toEqual([]);
    expect(await alarmOf(stub)).toBe(cart + HOUR);
    expect(await journeys()).toEqual([]);
    // The alarm's run, with the clock at the armed time (the alarm itself reads the real clock).
    expect((await stub.momentTimer(moments, call.key, cart + HOUR)).entered).toEqual(["cart-left"]);
    await expect.poll(journeys, { timeout: 20_000, interval: 100 }).toEqual(["cart-left:scheduled"]);
    // Re-entry needs the trigger to hold again after an exit: nothing more to wait for, so no timer.
    expect(await alarmOf(stub)).toBeNull();
  });

  it("a purchase before the hour disarms it: nothing is entered, nothing scheduled", async () => {
    const { stub, call, journeys } = await lateEveningCustomer("jt-bought");
    const cart = Date.now();
    await stub.momentEvents([{ at: cart, event: "add_to_cart" }], call, cart);
    expect(await alarmOf(stub)).toBe(cart + HOUR);
    await stub.momentEvents([{ at: cart + 60_000, event: "conversion" }], call, cart + 60_000);
    expect(await alarmOf(stub)).toBeNull();
    expect((await stub.momentTimer(moments, call.key, cart + HOUR)).entered).toEqual([]);
    expect(await journeys()).toEqual([]);
  });

  it("the real alarm: a cart reported two hours late starts the journey at once, from the stored configuration", async () => {
    const { stub, call, journeys } = await lateEveningCustomer("jt-alarm");
    expect((await fetchApp("/admin/moments", json("PUT", moments))).status).toBe(200);
    const now = Date.now();
    expect((await stub.momentEvents([{ at: now - 2 * HOUR, event: "add_to_cart" }], call, now)).entered).toEqual([]);
    // Due at once: the object's own alarm runs it (nothing else is called here).
    await expect.poll(journeys, { timeout: 20_000, interval: 100 }).toEqual(["cart-left:scheduled"]);
    expect((await stub.momentMemberships(moments)).map((m) => m.id)).toEqual(["cart-left"]);
  });

  it("a renewal date from the CRM: the window is entered 30 days before it, to the second, and the journey starts", async () => {
    const DAY = 86_400_000;
    const renewal = momentsConfigSchema.parse({
      moments: [{
        id: "renewal-window",
        trigger: { condition: { and: [{ ">=": [{ var: "profile.renewsAt" }, { var: "now" }] }, { "<=": [{ "-": [{ var: "profile.renewsAt" }, { var: "now" }] }, 30 * DAY] }] } },
        exit: { event: "renewed" },
        kpi: { event: "renewed", windowSeconds: 30 * 86_400 },
        actions: ["jw-mail"],
        onEntry: { nextAction: true },
      }],
    });
    expect((await fetchApp("/admin/moments", json("PUT", renewal))).status).toBe(200);
    const upload = (id: string, renewsAt: number) =>
      fetchApp("/admin/profiles", { method: "POST", headers: { ...ADMIN, "content-type": "application/x-ndjson" }, body: JSON.stringify({ customerId: id, traits: { renewsAt } }) });

    // Renews in 30 days and 5 hours: nothing now, the alarm at the window's first second.
    const later = await lateEveningCustomer("jt-renews-later");
    const renewsAt = Date.now() + 30 * DAY + 5 * HOUR;
    expect((await upload("jt-renews-later", renewsAt)).status).toBe(200);
    await expect.poll(() => alarmOf(later.stub), { timeout: 20_000, interval: 100 }).not.toBeNull();
    const armed = (await alarmOf(later.stub))!;
    expect(armed).toBeGreaterThanOrEqual(renewsAt - 30 * DAY);
    expect(armed - (renewsAt - 30 * DAY)).toBeLessThan(1000);
    expect(await later.journeys()).toEqual([]);
    expect((await later.stub.momentTimer(renewal, later.call.key, armed)).entered).toEqual(["renewal-window"]);
    await expect.poll(later.journeys, { timeout: 20_000, interval: 100 }).toEqual(["renewal-window:scheduled"]);

    // Renews in 10 days: inside the window as soon as the CRM says so.
    const soon = await lateEveningCustomer("jt-renews-soon");
    expect((await upload("jt-renews-soon", Date.now() + 10 * DAY)).status).toBe(200);
    await expect.poll(soon.journeys, { timeout: 20_000, interval: 100 }).toEqual(["renewal-window:scheduled"]);
  });

  it("never runs again sooner than MIN_TIMER_GAP_MS after a run that changed something", async () => {
    // Trigger and exit both hold (a configuration mistake): each run flips the membership.
    const flip = momentsConfigSchema.parse({
      moments: [{ id: "flip", trigger: { condition: { "==": [1, 1] } }, exit: { condition: { "==": [1, 1] } }, reentry: { maxEntries: 100 }, kpi: { event: "conversion", windowSeconds: 60 } }],
    });
    const stub = await customer("jt-flip");
    const key = customerObject(await keyOf("jt-flip"));
    const t = Date.now() + HOUR;
    expect((await stub.momentTimer(flip, key, t)).entered).toEqual(["flip"]);
    expect(await alarmOf(stub)).toBe(t + MIN_TIMER_GAP_MS);
    expect((await stub.momentTimer(flip, key, t + MIN_TIMER_GAP_MS)).exited).toEqual(["flip"]);
    expect(await alarmOf(stub)).toBe(t + 2 * MIN_TIMER_GAP_MS);
  });

  it("erasure removes the alarm with the state", async () => {
    const { stub, call } = await lateEveningCustomer("jt-erased");
    const cart = Date.now();
    await stub.momentEvents([{ at: cart, event: "add_to_cart" }], call, cart);
    expect(await alarmOf(stub)).toBe(cart + HOUR);
    await stub.erase();
    expect(await alarmOf(stub)).toBeNull();
  });
});
