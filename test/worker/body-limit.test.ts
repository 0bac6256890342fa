// limitBody (worker/http/json-body.ts): a streamed (chunked) body over the limit is answered 413
// and what the client still sends is read to its end, so the connection stays usable (under
// `wrangler dev` an unread or cancelled rest broke the next request: test/e2e/body-limit.test.ts).
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { onError } from "../../worker/errors/on-error.ts";
import { limitBody } from "../../worker/http/json-body.ts";

const app = new Hono().post("/", limitBody(100), async (c) => c.json({ length: (await c.req.text()).length }));
app.onError(onError);

/** A body of `chunks` pieces of `size` bytes without a length, and how much of it was read. */
function streamed(chunks: number, size: number) {
  const state = { pulled: 0, cancelled: false };
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (state.pulled === chunks) return controller.close();
      state.pulled++;
      controller.enqueue(new Uint8Array(size).fill(120));
    },
    cancel() {
      state.cancelled = true;
    },
  }, { highWaterMark: 0 });
  return { body, state };
}

describe("limitBody on a streamed body", () => {
  it.each([
    ["within the limit: read whole and passed on", 3, 30, 200],
    ["at the limit", 4, 25, 200],
    ["over it: 413, and the rest read to its end", 50, 30, 413],
    ["over it in the first piece", 2, 1000, 413],
  ])("%s", async (_, chunks, size, status) => {
    const { body, state } = streamed(chunks, size);
    const res = await app.request("/", { method: "POST", body, duplex: "half" } as RequestInit);
    expect(res.status).toBe(status);
    if (status === 200) expect(await res.json()).toEqual({ length: chunks * size });
    else expect(await res.json()).toEqual({ error: { code: "payload_too_large", message: "body exceeds 100 bytes" } });
    expect(state).toEqual({ pulled: chunks, cancelled: false });
  });

  // A small drain, so the cases beyond it are quick: 1,000 bytes, 200 ms.
  const bounded = new Hono().post("/", limitBody(100, { bytes: 1000, ms: 200 }), async (c) => c.text(await c.req.text()));
  bounded.onError(onError);

  it("a sender that keeps sending past the drain: 413, and the rest cancelled", async () => {
    const { body, state } = streamed(1000, 30);
    const res = await bounded.request("/", { method: "POST", body, duplex: "half" } as RequestInit);
    expect(res.status).toBe(413);
    expect(state.cancelled).toBe(true);
    expect(state.pulled).toBeLessThan(50); // ≤ 100 + 1,000 bytes read of 30,000
  });

  it("a sender that stalls after the limit: 413 once the drain's time is up, not never", async () => {
    const state = { cancelled: false };
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 5) controller.enqueue(new Uint8Array(30));
        else return new Promise<void>(() => undefined); // the client stops sending, connection open
      },
      cancel() {
        state.cancelled = true;
      },
    }, { highWaterMark: 0 });
    const started = Date.now();
    const res = await bounded.request("/", { method: "POST", body, duplex: "half" } as RequestInit);
    expect(res.status).toBe(413);
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    expect(state.cancelled).toBe(true);
  });

  it("with a length: refused from the header, nothing read", async () => {
    const res = await app.request("/", { method: "POST", body: "x".repeat(101), headers: { "content-length": "101" } });
    expect(res.status).toBe(413);
  });
});
