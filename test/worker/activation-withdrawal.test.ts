// Consent withdrawn after an action was scheduled (worker/activation/withdrawal.ts): a profile update
// that withdraws marketing consent, an opt-in or an address, and a personalisation withdrawal on a
// linked device, cancel what is pending in the customer's Outbox — nothing else.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { withdrawalsOf } from "../../worker/activation/withdrawal.ts";
import { customerObject } from "../../worker/identity/keys.ts";
import { visitorKey } from "../../worker/visitor/key.ts";
import { ADMIN } from "./audit-fixtures.ts";
import { NOW, decided, fetchApp, json, keyOf, setUp } from "./journey-helpers.ts";

/** Customer `id` with an e-mail (no moment) and a push (moment "renewal") scheduled; their decision ids by channel. */
async function scheduledBoth(id: string): Promise<Record<string, string>> {
  await setUp(id);
  const mail = await decided({ customerId: id });
  const push = await decided({ customerId: id, moment: "renewal" });
  expect([mail, push].map((a) => [a.channel, a.scheduled])).toEqual([["email", true], ["push", true]]);
  return { email: mail.decisionId, push: push.decisionId };
}

/** channel → "state/cancel reason" of the customer's actions, as the D1 mirror records them. */
async function states(id: string): Promise<Record<string, string>> {
  const rows = await env.DB.prepare("SELECT channel, state, cancel_reason FROM activation_actions WHERE customer_key = ?").bind(await keyOf(id)).all<{ channel: string; state: string; cancel_reason: string | null }>();
  return Object.fromEntries(rows.results.map((r) => [r.channel, r.cancel_reason ? `${r.state}/${r.cancel_reason}` : r.state]));
}

const upload = (customerId: string, traits: unknown) =>
  fetchApp("/admin/profiles", { method: "POST", headers: { ...ADMIN, "content-type": "application/x-ndjson" }, body: JSON.stringify({ customerId, traits }) });

describe("withdrawalsOf", () => {
  it.each([
    { contact: undefined, want: [] },
    { contact: { marketing: true, optIns: { email: true } }, want: [] },
    { contact: { marketing: false, optIns: { email: false } }, want: [{ reason: "marketing_withdrawn" }] },
    { contact: { optIns: { email: false, push: true }, reachable: { sms: false } }, want: [{ channel: "email", reason: "opted_out" }, { channel: "sms", reason: "unreachable" }] },
  ])("$contact → $want", ({ contact, want }) => {
    expect(withdrawalsOf(contact)).toEqual(want);
  });
});

describe("a profile update that withdraws consent cancels the pending actions it covers", () => {
  it.each([
    { name: "marketing withdrawn", traits: { contact: { marketing: false } }, want: { email: "cancelled/marketing_withdrawn", push: "cancelled/marketing_withdrawn" } },
    { name: "e-mail opt-in withdrawn", traits: { contact: { optIns: { email: false } } }, want: { email: "cancelled/opted_out", push: "scheduled" } },
    { name: "push token gone", traits: { contact: { reachable: { push: false } } }, want: { email: "scheduled", push: "cancelled/unreachable" } },
    { name: "another trait", traits: { tier: "gold" }, want: { email: "scheduled", push: "scheduled" } },
    { name: "consent confirmed", traits: { contact: { marketing: true, optIns: { email: true } } }, want: { email: "scheduled", push: "scheduled" } },
  ])("$name", async ({ name, traits, want }) => {
    const id = `wd-${name.replace(/\W+/g, "-")}`;
    await scheduledBoth(id);
    expect(await states(id)).toEqual({ email: "scheduled", push: "scheduled" });
    expect((await upload(id, traits)).status).toBe(200);
    expect(await states(id)).toEqual(want);
  });

  it("a refused update cancels nothing", async () => {
    await scheduledBoth("wd-refused");
    // A bad line (unknown channel) is refused with its error: nothing changes.
    const bad = await upload("wd-refused", { contact: { marketing: false, optIns: { fax: false } } });
    expect(bad.status).toBe(200);
    expect(await bad.json()).toMatchObject({ accepted: 0, rejected: [{ line: 1, error: { code: "invalid_request" } }] });
    expect(await states("wd-refused")).toEqual({ email: "scheduled", push: "scheduled" });
  });
});

describe("personalisation withdrawn on a linked device (POST /v1/consent)", () => {
  it("cancels every pending action of the customer", async () => {
    await scheduledBoth("wd-consent");
    const device = "wd-consent-device-1";
    const vkey = await visitorKey(device);
    await env.VISITOR.get(env.VISITOR.idFromName(vkey)).link(customerObject(await keyOf("wd-consent")), vkey, NOW);
    const res = await fetchApp("/v1/consent", json("POST", { visitorId: device, consent: { personalization: false, analytics: true } }, {}));
    expect(res.status).toBe(202);
    expect(await states("wd-consent")).toEqual({ email: "cancelled/consent_withdrawn", push: "cancelled/consent_withdrawn" });
  });

  it("an unlinked visitor's withdrawal touches no customer", async () => {
    await scheduledBoth("wd-other");
    const res = await fetchApp("/v1/consent", json("POST", { visitorId: "wd-unlinked-device", consent: { personalization: false, analytics: false } }, {}));
    expect(res.status).toBe(202);
    expect(await states("wd-other")).toEqual({ email: "scheduled", push: "scheduled" });
  });
});
