import { describe, expect, it } from "vitest";
import { DECIDE_MAX_BYTES } from "../../worker/decide/route.ts";
import { call, postDecide } from "./helpers.ts";

const valid = { visitorId: "v-9", slots: ["hero"], consent: { personalization: true } };

describe("bad input gets a clear 4xx in the error shape", () => {
  it.each([
    { name: "malformed JSON", body: "{not json", status: 400, code: "invalid_json" },
    { name: "a JSON array", body: "[]", status: 400, code: "invalid_request" },
    { name: "missing visitorId", body: { slots: ["hero"] }, status: 400, code: "invalid_request" },
    { name: "visitorId a number", body: { ...valid, visitorId: 42 }, status: 400, code: "invalid_request" },
    { name: "empty visitorId", body: { ...valid, visitorId: "" }, status: 400, code: "invalid_request" },
    { name: "slots missing", body: { visitorId: "v" }, status: 400, code: "invalid_request" },
    { name: "slots empty", body: { ...valid, slots: [] }, status: 400, code: "invalid_request" },
    { name: "slots not strings", body: { ...valid, slots: [1] }, status: 400, code: "invalid_request" },
    { name: "11 slots", body: { ...valid, slots: Array.from({ length: 11 }, (_, i) => `s${i}`) }, status: 400, code: "invalid_request" },
    { name: "duplicate slots", body: { ...valid, slots: ["hero", "hero"] }, status: 400, code: "invalid_request" },
    { name: "consent not boolean", body: { ...valid, consent: { personalization: "yes" } }, status: 400, code: "invalid_request" },
    { name: "signal of the wrong type", body: { ...valid, context: { signals: { scrollDepth: "deep" } } }, status: 400, code: "invalid_request" },
    { name: "signal out of range", body: { ...valid, context: { signals: { scrollDepth: 7 } } }, status: 400, code: "invalid_request" },
    { name: "nested custom signal", body: { ...valid, context: { signals: { custom: { a: 1 } } } }, status: 400, code: "invalid_request" },
    { name: "unknown slot", body: { ...valid, slots: ["hero", "footer"] }, status: 422, code: "unknown_slot" },
    { name: "a slot named after a prototype property", body: { ...valid, slots: ["constructor", "hero"] }, status: 422, code: "unknown_slot" },
  ])("$name → $status $code", async ({ body, status, code }) => {
    const res = await postDecide(body);
    expect(res.status).toBe(status);
    const json = await res.json<{ error: { code: string; message: string } }>();
    expect(json.error.code).toBe(code);
    expect(json.error.message.length).toBeGreaterThan(0);
  });

  it("records nothing for the visitor when a request names a slot on the prototype chain", async () => {
    const { env } = await import("cloudflare:workers");
    const { visitorKey } = await import("../../worker/visitor/key.ts");
    const visitorId = `proto-${crypto.randomUUID()}`;
    const res = await postDecide({ ...valid, visitorId, slots: ["hero", "constructor"] });
    expect(res.status).toBe(422);
    const stub = env.VISITOR.get(env.VISITOR.idFromName(await visitorKey(visitorId)));
    expect(await stub.exposureCount()).toBe(0);
  });

  it("names the path of each invalid field", async () => {
    const res = await postDecide({ ...valid, visitorId: 42, context: { signals: { scrollDepth: "x" } } });
    const { error } = await res.json<{ error: { message: string } }>();
    expect(error.message).toContain("visitorId:");
    expect(error.message).toContain("context.signals.scrollDepth:");
  });

  it("refuses a body over the size limit with 413", async () => {
    const res = await postDecide({ ...valid, context: { signals: { note: "x".repeat(100) }, url: "u".repeat(DECIDE_MAX_BYTES) } });
    expect(res.status).toBe(413);
    expect((await res.json<{ error: { code: string } }>()).error.code).toBe("payload_too_large");
  });

  it("refuses a body that is not declared as JSON with 415", async () => {
    const res = await call("/v1/decide", { method: "POST", headers: { "content-type": "text/plain" }, body: JSON.stringify(valid) });
    expect(res.status).toBe(415);
    expect((await res.json<{ error: { code: string } }>()).error.code).toBe("unsupported_media_type");
  });

  it("answers unknown routes with 404 in the same shape", async () => {
    const res = await call("/v1/nothing", { method: "POST" });
    expect(res.status).toBe(404);
    expect((await res.json<{ error: { code: string } }>()).error.code).toBe("not_found");
  });

  it("answers GET /healthz", async () => {
    const res = await call("/healthz");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
  });
});
