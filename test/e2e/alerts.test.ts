// Alerts over real HTTP: a receiver on 127.0.0.1 (this test's own server) gets one webhook call
// per incident state change from `wrangler dev`, a 500 is retried, and every attempt is recorded.
import { statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevServer, type DevServer } from "../../scripts/dev-server.ts";

const TOKEN = "alerts-e2e-token";
const received: Array<{ path: string; body: Record<string, any> }> = [];
/** What the receiver answers, in turn (then 200). */
const statuses = [500];
let receiver: Server;
let worker: DevServer;

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      received.push({ path: req.url ?? "", body: JSON.parse(body) });
      res.writeHead(statuses.shift() ?? 200, { "content-type": "text/plain" }).end("ok");
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  // Its own server: the webhooks are configuration, and retries come at once (base 0 s).
  worker = await startDevServer({
    vars: { ADMIN_TOKEN: TOKEN, ALERT_WEBHOOK_WARN: `${hook}/warn`, ALERT_WEBHOOK_ALERT: `${hook}/alert`, ALERT_WEBHOOK_FORMAT: "generic", ALERT_RETRY_BASE_SECONDS: "0" },
  });
});

afterAll(async () => {
  await worker?.stop();
  await new Promise((resolve) => receiver?.close(resolve));
});

const admin = (path: string, method = "GET", body?: unknown) =>
  fetch(`${worker.url}${path}`, { method, headers: { authorization: `Bearer ${TOKEN}`, ...(body ? { "content-type": "application/json" } : {}) }, body: body ? JSON.stringify(body) : undefined });

/** Runs the governance checks (as the cron does) and waits until the receiver has `count` calls. */
async function runUntil(count: number) {
  expect((await admin("/admin/incidents/run", "POST")).status).toBe(202);
  for (let i = 0; i < 300 && received.length < count; i++) await new Promise((r) => setTimeout(r, 100));
  expect(received).toHaveLength(count);
}

describe("webhooks to a local receiver", () => {
  it("one call per state change, a 500 retried, every attempt recorded", async () => {
    // The kill switch on is an incident (ops.kill_switch, warn).
    expect((await admin("/admin/kill-switch", "POST", { on: true, reason: "e2e" })).status).toBe(200);
    await runUntil(1);
    expect(received[0]).toMatchObject({ path: "/warn", body: { source: "nextbest", change: "opened", incident: { kind: "ops.kill_switch", severity: "warn", state: "open" } } });
    // The receiver answered 500: the next run retries the same alert.
    await runUntil(2);
    expect(received[1]!.body).toEqual(received[0]!.body);
    // Turned off: the next run resolves the incident, one more call.
    expect((await admin("/admin/kill-switch", "POST", { on: false })).status).toBe(200);
    await runUntil(3);
    expect(received[2]).toMatchObject({ path: "/warn", body: { change: "resolved", actor: "system", incident: { state: "resolved" } } });
    const { incidents } = await (await admin("/admin/incidents?kind=ops.kill_switch")).json();
    expect(incidents[0].alerts.map((a: { status: string; attempts: Array<{ statusCode: number }> }) => [a.status, a.attempts.map((t) => t.statusCode)])).toEqual([
      ["delivered", [500, 200]],
      ["delivered", [200]],
    ]);
  });
});

// This file starts its own server, so it also checks the harness (scripts/dev-server.ts).
describe("the test server", () => {
  it("writes wrangler's debug log into its state folder (removed on stop), not into the home folder", () => {
    expect(statSync(worker.debugLog).size).toBeGreaterThan(0);
    const kept = process.env.NB_DEV_SERVER_LOGS;
    expect(worker.debugLog).toBe(kept ? join(kept, `dev-${new URL(worker.url).port}.wrangler.log`) : join(worker.state, "wrangler-debug.log"));
  });
});
