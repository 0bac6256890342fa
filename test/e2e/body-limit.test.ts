// A streamed (chunked) body over the size limit through `wrangler dev`: answered 413, and the
// next valid POST — on another connection, as another client — is answered, not refused. Until
// limitBody read the rest of such a body, that next POST got wrangler's 503 ("Your worker
// restarted mid-request"), three times in three (test/worker/body-limit.test.ts has the unit).
import http from "node:http";
import { describe, expect, inject, it } from "vitest";

const base = new URL(inject("baseUrl"));

/** POSTs `body` on a fresh connection, chunked (no content-length) when `chunked`. */
function post(path: string, body: string, chunked: boolean): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const headers = { "content-type": "application/json", ...(chunked ? {} : { "content-length": String(Buffer.byteLength(body)) }) };
    const req = http.request({ host: base.hostname, port: base.port, path, method: "POST", headers, agent: false }, (res) => {
      let text = "";
      res.on("data", (d) => (text += d));
      res.on("end", () => resolve({ status: res.statusCode!, text }));
    });
    req.on("error", reject);
    if (chunked) for (let i = 0; i < body.length; i += 4096) req.write(body.slice(i, i + 4096));
    req.end(chunked ? undefined : body);
  });
}

const decide = (pad = "") =>
  JSON.stringify({ visitorId: "e2e-body-limit", slots: ["hero"], consent: { personalization: false, analytics: false }, context: { url: `${base.origin}/`, signals: pad ? { pad } : {} } });
const events = (pad: string) => JSON.stringify({ visitorId: "e2e-body-limit", consent: { analytics: true }, events: [{ eventId: "e1", type: "custom", name: pad }] });

describe("an oversized streamed body", () => {
  it.each([
    ["decide, just over 32 KB", "/v1/decide", decide("x".repeat(40_000))],
    ["decide, 2 MB", "/v1/decide", decide("x".repeat(2_000_000))],
    ["events, just over 64 KB", "/v1/events", events("x".repeat(70_000))],
  ])("%s: 413, and the next POST is answered", async (_, path, body) => {
    const refused = await post(path, body, true);
    expect(refused.status).toBe(413);
    expect(JSON.parse(refused.text)).toMatchObject({ error: { code: "payload_too_large" } });
    for (let i = 0; i < 2; i++) expect((await post("/v1/decide", decide(), false)).status).toBe(200);
  });
});
