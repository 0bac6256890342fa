// Shared setup of the journey tests (journey-wiring, activation-withdrawal): the production app
// with a fixed clock, a customer with both channels allowed, and next-action calls.
import { createExecutionContext, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import type { Outbox } from "../../worker/activation/outbox.ts";
import { outboxOf } from "../../worker/activation/schedule.ts";
import { createApp } from "../../worker/app.ts";
import { customerKey, customerObject, type IdentityEnv } from "../../worker/identity/keys.ts";
import { ADMIN } from "./audit-fixtures.ts";

// Ahead of the real clock the Outbox alarms run on, so nothing is due during the test.
export const NOW = Date.parse("2031-06-03T06:30:00Z");
let ids = 0;
/** A fresh id per call (decision ids of the app below). */
export const nextId = (prefix: string) => `${prefix}-${NOW}-${++ids}`;
export const app = createApp(() => ({ now: () => NOW, newId: () => nextId("jw"), holdout: { rate: 0, salt: "jw-test" }, epsilon: 0 }));

/** Calls the app as the Worker would, waiting for its deferred work. */
export async function fetchApp(path: string, init: RequestInit = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await app.fetch(new Request(`http://nextbest.test${path}`, init), env, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}
/** A JSON request (admin token by default). */
export const json = (method: string, body: unknown, headers: Record<string, string> = ADMIN) => ({ method, headers: { ...headers, "content-type": "application/json" }, body: JSON.stringify(body) });
export const keyOf = (id: string) => customerKey(env as IdentityEnv, id);
export const customer = async (id: string) => env.VISITOR.get(env.VISITOR.idFromName(customerObject(await keyOf(id))));
/** The customer's Outbox rows. */
export const listed = async (id: string) => runInDurableObject(outboxOf(env, await keyOf(id)), (o: Outbox) => o.list());

/** Two actions (e-mail; push in moment "renewal"), both channels' webhooks, and customer `id` reachable and opted in on both, in UTC. */
export async function setUp(id: string): Promise<void> {
  const actions = [
    { id: "jw-mail", channel: "email", contentRef: "tpl-jw", value: 3 },
    { id: "jw-renewal", channel: "push", contentRef: "push-jw-renewal", value: 50, moments: ["renewal"] },
  ];
  expect((await fetchApp("/admin/actions", json("PUT", { actions }))).status).toBe(200);
  for (const channel of ["email", "push"]) expect((await fetchApp(`/admin/channels/${channel}`, json("PUT", { url: "http://127.0.0.1:9/hook" }))).status).toBe(200);
  const line = { customerId: id, traits: { contact: { timeZone: "UTC", marketing: true, optIns: { email: true, push: true }, reachable: { email: true, push: true } } } };
  expect((await fetchApp("/admin/profiles", { method: "POST", headers: { ...ADMIN, "content-type": "application/x-ndjson" }, body: JSON.stringify(line) })).status).toBe(200);
}

/** `POST /v1/next-action`, which must answer 200. */
export async function decided(body: unknown): Promise<{ decisionId: string; channel: string; actionId: string; scheduled: boolean; sendAt: string; reasons: string[] }> {
  const res = await fetchApp("/v1/next-action", json("POST", body));
  expect(res.status).toBe(200);
  return res.json();
}

