// Activation through real HTTP: `wrangler dev` (workerd, the Outbox's real alarm) delivers a
// scheduled action to a webhook receiver listening on 127.0.0.1 in this process — signed (verified
// here), retried after a 500, sent once, and a cancelled action never arrives.
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { verifySignature } from "../../worker/activation/signature.ts";

const base = inject("baseUrl");
const token = inject("adminToken");
const secret = inject("webhookSecret");

const admin = (path: string, body?: unknown, method = body === undefined ? "GET" : "POST") =>
  fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });

interface Hit { headers: IncomingHttpHeaders; body: string; check: string }
const hits: Hit[] = [];
/** Statuses the receiver answers in turn (then 200). */
const script = [500];
const server = createServer((req, res) => {
  let body = "";
  req.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")));
  req.on("end", () => {
    void verifySignature(secret, String(req.headers["x-nextbest-signature"] ?? ""), body, Math.floor(Date.now() / 1000)).then((check) => {
      hits.push({ headers: req.headers, body, check });
      res.writeHead(script.shift() ?? 200).end();
    });
  });
});

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean, ms = 120_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (ok(v) || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe("activation webhook over loopback", () => {
  it("delivers signed, retries a 500, sends once, never sends a cancelled action", async () => {
    const { port } = server.address() as AddressInfo;
    const put = await admin("/admin/channels/email", { url: `http://127.0.0.1:${port}/hook`, retryBaseMs: 300, maxAttempts: 4 }, "PUT");
    expect(put.status).toBe(200);
    const customerId = `e2e-activation-${process.pid}`;
    const soon = Date.now() + 1500;
    const sent = await admin("/admin/deliveries", { customerId, channel: "email", actionId: "welcome", contentRef: "tmpl:welcome", sendAt: soon, moment: "onboarding-a" });
    expect(sent.status).toBe(201);
    const { decisionId, customerKey } = (await sent.json()) as { decisionId: string; customerKey: string };
    const doomed = (await (await admin("/admin/deliveries", { customerId, channel: "email", actionId: "nudge", contentRef: "tmpl:nudge", sendAt: soon + 500, moment: "onboarding-b" })).json()) as { decisionId: string };
    const cancel = (await (await admin("/admin/deliveries/cancel", { customerId, moment: "onboarding-b", reason: "converted" })).json()) as { cancelled: string[] };
    expect(cancel.cancelled).toEqual([doomed.decisionId]);

    const row = await until(
      async () => ((await (await admin(`/admin/deliveries?decisionId=${decisionId}`)).json()) as { deliveries: Array<{ state: string; attempts: number; attemptLog: Array<{ status: number; outcome: string }> }> }).deliveries[0],
      (d) => d?.state === "sent",
    );
    expect(row).toMatchObject({ state: "sent", attempts: 2 });
    expect(row!.attemptLog.map((a) => [a.status, a.outcome])).toEqual([[500, "retry"], [200, "sent"]]);
    // Give a stray re-send or the cancelled action time to show up: neither does.
    await new Promise((r) => setTimeout(r, 3000));
    expect(hits).toHaveLength(2);
    for (const hit of hits) {
      expect(hit.check).toBe("ok");
      expect(hit.headers["idempotency-key"]).toBe(decisionId);
      expect(JSON.parse(hit.body)).toMatchObject({ decisionId, customerKey, channel: "email", actionId: "welcome", moment: "onboarding-a" });
    }
    expect(hits.map((h) => h.headers["x-nextbest-delivery-attempt"])).toEqual(["1", "2"]);
    expect(hits[0]!.body).not.toContain(customerId);
    const cancelled = (await (await admin(`/admin/deliveries?decisionId=${doomed.decisionId}`)).json()) as { deliveries: Array<{ state: string; cancelReason: string }> };
    expect(cancelled.deliveries[0]).toMatchObject({ state: "cancelled", cancelReason: "converted" });
  });
});
