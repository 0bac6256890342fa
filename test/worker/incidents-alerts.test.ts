// Alerts once per incident change with retries and a record of every attempt; the admin API
// (list, acknowledge, resolve, health); auto-rollback of the champion on a drift alert.
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { deliverDue, queueAlerts, retryDelay } from "../../worker/alerts/deliver.ts";
import { runGovernance } from "../../worker/incidents/governance.ts";
import { act, incidentRate } from "../../worker/incidents/store.ts";
import { isolateModelRuntime } from "../../worker/models/runtime.ts";
import { builtinId } from "../../worker/models/builtin.ts";
import { linearModel } from "./models-fixtures.ts";
import { adminOk, uploadOk } from "./models-helpers.ts";
import { NOW, TODAY, admin, db, health, receiver, resetGovernance } from "./incidents-helpers.ts";

const HOOK = "http://127.0.0.1:9911/hook";
const withHooks = { ...env, ALERT_WEBHOOK_WARN: HOOK, ALERT_WEBHOOK_ALERT: `${HOOK}/alert`, ALERT_WEBHOOK_ALERT_FORMAT: "generic" } as Env;
const fallbackAlert = () => health(TODAY, [["ranked", "", 700], ["fallback", "ranking_error", 300]]);
const attempts = async () => (await db.prepare("SELECT delivery_id, attempt, status_code, error, at FROM alert_attempts ORDER BY delivery_id, attempt").all()).results;

beforeEach(resetGovernance);

describe("alerts", () => {
  it("one webhook call per state change, retried after a 500, every attempt recorded", async () => {
    await fallbackAlert();
    const hook = receiver([500]);
    const first = await runGovernance(withHooks, NOW, [], hook.send);
    expect(first).toMatchObject({ alertsQueued: 1, deliveries: { delivered: 0, retrying: 1, failed: 0 } });
    expect(hook.received).toHaveLength(1);
    expect(hook.received[0]).toMatchObject({ url: `${HOOK}/alert`, body: { source: "nextbest", change: "opened", actor: "system", incident: { kind: "ops.fallback_rate", severity: "alert", state: "open", figures: { rate: 0.3 } } } });
    // Not due yet: the next attempt waits for the backoff.
    await runGovernance(withHooks, NOW + retryDelay(1) - 1, [], hook.send);
    expect(hook.received).toHaveLength(1);
    const second = await runGovernance(withHooks, NOW + retryDelay(1), [], hook.send);
    expect(second).toMatchObject({ alertsQueued: 0, deliveries: { delivered: 1, retrying: 0, failed: 0 } });
    expect(hook.received).toHaveLength(2);
    expect(hook.received[1]!.body).toEqual(hook.received[0]!.body);
    // Still found, nothing changed: no more calls.
    await runGovernance(withHooks, NOW + 600_000, [], hook.send);
    expect(hook.received).toHaveLength(2);
    expect(await attempts()).toEqual([
      { delivery_id: expect.any(Number), attempt: 1, status_code: 500, error: "HTTP 500", at: NOW },
      { delivery_id: expect.any(Number), attempt: 2, status_code: 200, error: null, at: NOW + retryDelay(1) },
    ]);
    // Cleared: one more alert, the resolution.
    await db.prepare("DELETE FROM agg_decision_health WHERE day = ?").bind(TODAY).run();
    await runGovernance(withHooks, NOW + 900_000, [], hook.send);
    expect(hook.received.map((r) => (r.body as { change: string }).change)).toEqual(["opened", "opened", "resolved"]);
    // The admin API shows the deliveries with their attempts.
    const { incidents } = await (await admin("/admin/incidents")).json<{ incidents: Array<{ alerts: Array<{ status: string; attempts: unknown[] }> }> }>();
    expect(incidents[0]!.alerts.map((a) => [a.status, a.attempts.length])).toEqual([["delivered", 2], ["delivered", 1]]);
  });

  it("Slack format: text and blocks; warn incidents go to the warn webhook; gives up after 6 attempts", async () => {
    await health(TODAY, [["ranked", "", 900], ["fallback", "ranking_error", 100]]); // 10%: warn
    const hook = receiver([503, 503, 503, 503, 503, 503]);
    await runGovernance(withHooks, NOW, [], hook.send);
    const body = hook.received[0]!.body as { text: string; blocks: Array<{ type: string }> };
    expect(hook.received[0]!.url).toBe(HOOK);
    expect(body.text).toBe("[WARN] incident #" + body.text.match(/#(\d+)/)![1] + " opened: ops.fallback_rate (all)");
    expect(body.blocks.map((b) => b.type)).toEqual(["header", "section", "section", "context"]);
    let t = NOW;
    for (let attempt = 1; attempt < 6; attempt++) {
      t += retryDelay(attempt);
      await deliverDue(db, t, hook.send);
    }
    expect(hook.received).toHaveLength(6);
    expect((await db.prepare("SELECT status, attempts FROM alert_deliveries").first())).toEqual({ status: "failed", attempts: 6 });
    await deliverDue(db, t + 3_600_000, hook.send);
    expect(hook.received).toHaveLength(6);
  });

  it("a request that fails is recorded without a status code and retried", async () => {
    await fallbackAlert();
    await runGovernance(withHooks, NOW, [], async () => Promise.reject(new TypeError("connection refused")));
    expect(await attempts()).toEqual([{ delivery_id: expect.any(Number), attempt: 1, status_code: null, error: "connection refused", at: NOW }]);
  });

  it("without a configured webhook nothing is queued", async () => {
    await fallbackAlert();
    const hook = receiver();
    expect((await runGovernance(env, NOW, [], hook.send)).alertsQueued).toBe(0);
    expect(hook.received).toEqual([]);
  });
});

describe("admin API", () => {
  it("lists, acknowledges and resolves with the actor; refuses what does not apply", async () => {
    await fallbackAlert();
    await runGovernance(env, NOW);
    const list = await (await admin("/admin/incidents?state=open&kind=ops.fallback_rate")).json<{ incidents: Array<{ id: number; state: string }>; ratePerWeek: { weeks: unknown[] } }>();
    expect(list.incidents).toHaveLength(1);
    expect(list.ratePerWeek.weeks).toHaveLength(8);
    const id = list.incidents[0]!.id;
    const ack = await admin(`/admin/incidents/${id}`, "POST", { action: "acknowledge", note: "looking" }, { "x-nextbest-actor": "ops@shop.example" });
    expect(ack.status).toBe(200);
    expect(await ack.json()).toMatchObject({ change: "acknowledged", actor: "ops@shop.example", note: "looking", incident: { state: "acknowledged", updatedBy: "ops@shop.example" } });
    expect((await admin(`/admin/incidents/${id}`, "POST", { action: "acknowledge" })).status).toBe(409);
    expect((await admin(`/admin/incidents/999999`, "POST", { action: "resolve" })).status).toBe(404);
    expect((await admin(`/admin/incidents/${id}`, "POST", { action: "close" })).status).toBe(400);
    expect((await admin(`/admin/incidents?state=bogus`)).status).toBe(400);
    expect((await admin(`/admin/incidents?from=2026-12-01&to=2026-01-01`)).status).toBe(400); // from after to
    for (const from of ["0x10", "%20", "2026-02-30"]) expect((await admin(`/admin/incidents?from=${from}`)).status).toBe(400);
    // Still found while acknowledged: no change; resolved by hand, then found again: a new incident.
    expect((await runGovernance(env, NOW + 300_000)).changes).toEqual([]);
    const resolved = await admin(`/admin/incidents/${id}`, "POST", { action: "resolve" });
    expect(await resolved.json()).toMatchObject({ change: "resolved", actor: "admin", incident: { state: "resolved" } });
    const again = await runGovernance(env, NOW + 600_000);
    expect(again.changes.map((c) => [c.change, c.incident.id !== id])).toEqual([["opened", true]]);
    const { incidents } = await (await admin(`/admin/incidents?from=${new Date(NOW - 1).toISOString()}`)).json<{ incidents: Array<{ state: string; changes: Array<{ change: string; actor: string }> }> }>();
    expect(incidents.map((i) => [i.state, i.changes.map((c) => `${c.change}:${c.actor}`)])).toEqual([
      ["open", ["opened:system"]],
      ["resolved", ["opened:system", "acknowledged:ops@shop.example", "resolved:admin"]],
    ]);
    expect((await admin("/admin/incidents")).status).toBe(200);
    expect((await call401()).status).toBe(401);
  });

  it("an admin's change is alerted too (queued, delivered by the cron)", async () => {
    await fallbackAlert();
    const { changes } = await runGovernance(env, NOW);
    const change = await act(db, changes[0]!.incident.id, "acknowledge", "ops", null, NOW + 1);
    const hook = receiver();
    expect(await queueAlerts(db, [change], { alert: { url: HOOK, format: "generic" } }, NOW + 1)).toBe(1);
    await deliverDue(db, NOW + 1, hook.send);
    expect(hook.received.map((r) => (r.body as { change: string; actor: string }).change + ":" + (r.body as { actor: string }).actor)).toEqual(["acknowledged:ops"]);
  });

  it("GET /admin/health: models, pipeline, incidents, kill switch, incident rate", async () => {
    await fallbackAlert();
    await runGovernance(env, NOW);
    const res = await admin("/admin/health");
    expect(res.status).toBe(200);
    const body = await res.json<Record<string, any>>();
    expect(body.ok).toBe(false);
    expect(body.models.champion.version).toMatch(/@[0-9a-f]{12}$/);
    expect(body.pipeline).toMatchObject({ queue: "nextbest-log", deadLetters: { count: expect.any(Number) } });
    expect(body.incidents).toMatchObject({ open: 1, alerts: 1, active: [{ kind: "ops.fallback_rate" }] });
    expect(body.killSwitch).toMatchObject({ on: false, propagationMs: 2000 });
    expect(body.ratePerWeek).toMatchObject({ weeks: expect.any(Array), meanPerWeek: expect.any(Number) });
    // The rate itself, at the crafted time: one incident opened in the last week of eight.
    const rate = await incidentRate(db, NOW + 3_600_000);
    expect(rate.weeks.map((w) => w.opened)).toEqual([0, 0, 0, 0, 0, 0, 0, 1]);
    expect(rate.meanPerWeek).toBe(1 / 8);
  });
});

const call401 = () => fetchApp("/admin/incidents");
async function fetchApp(path: string) {
  const { call } = await import("./helpers.ts");
  return call(path);
}

describe("auto-protection", () => {
  afterEach(async () => {
    await db.prepare("DELETE FROM model_deployments").run();
    isolateModelRuntime.invalidate();
  });

  const driftAlert = (model: string, severity: "warn" | "alert" = "alert") => async () => ({
    kinds: ["drift.outcome"],
    findings: [{ kind: "drift.outcome", subject: `${model}:click`, severity, model, figures: { rate: 0.01, baseline: 0.05, pValue: 1e-9 } }],
  });

  it("with AUTO_ROLLBACK=on a drift alert about the champion rolls it back, recorded by system", async () => {
    const model = await uploadOk(linearModel(["page_category_match"], [2], -1, "gov-rollback"));
    await adminOk(`/${model.id}/activate`, "POST");
    // A warn does nothing; the policy off does nothing.
    expect((await runGovernance({ ...env, AUTO_ROLLBACK: "on" } as Env, NOW, [driftAlert(model.version, "warn")])).rollbacks).toEqual([]);
    await resetGovernance();
    expect((await runGovernance(env, NOW, [driftAlert(model.version)])).rollbacks).toEqual([]);
    await resetGovernance();
    const run = await runGovernance({ ...env, AUTO_ROLLBACK: "on" } as Env, NOW, [driftAlert(model.version)]);
    expect(run.rollbacks).toEqual([{ incidentId: run.changes[0]!.incident.id, outcome: "click", from: model.version, to: expect.stringMatching(/^nextbest-default@/), revision: 2 }]);
    const deployment = await adminOk<{ deployment: { champion: { id: string }; updatedBy: string } }>("");
    expect(deployment.deployment).toMatchObject({ champion: { id: await builtinId() }, updatedBy: "system" });
    // The revision names the new champion (the model rolled back to).
    const history = await adminOk<{ history: Array<{ action: string; actor: string }> }>(`/${await builtinId()}`);
    expect(history.history[0]).toMatchObject({ action: "rollback", actor: "system" });
    // Found again: no second rollback.
    expect((await runGovernance({ ...env, AUTO_ROLLBACK: "on" } as Env, NOW + 300_000, [driftAlert(model.version)])).rollbacks).toEqual([]);
  });

  it("a drift alert about another model leaves the champion alone", async () => {
    const model = await uploadOk(linearModel(["page_category_match"], [3], -1, "gov-other"));
    await adminOk(`/${model.id}/activate`, "POST");
    const run = await runGovernance({ ...env, AUTO_ROLLBACK: "on" } as Env, NOW, [driftAlert("someone-else@0123456789ab")]);
    expect(run.rollbacks).toEqual([]);
    expect((await adminOk<{ deployment: { champion: { id: string } } }>("")).deployment.champion.id).toBe(model.id);
  });
});
