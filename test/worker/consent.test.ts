import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { isHeldOut } from "../../worker/holdout/assign.ts";
import { visitorKey } from "../../worker/visitor/key.ts";
import { call, postDecide } from "./helpers.ts";

const holdout = { rate: Number(env.HOLDOUT_RATE), salt: env.HOLDOUT_SALT };
let n = 0;
const visitor = () => {
  for (;;) {
    const id = `consent-revoke-${n++}`;
    if (!isHeldOut(id, holdout)) return id;
  }
};
const revoke = (body: unknown, type = "application/json") =>
  call("/v1/consent", { method: "POST", headers: { "content-type": type }, body: typeof body === "string" ? body : JSON.stringify(body) });
const exposures = async (id: string) => env.VISITOR.get(env.VISITOR.idFromName(await visitorKey(id))).exposureCount();

describe("POST /v1/consent (revocation)", () => {
  it("erases the visitor's state when personalisation is withdrawn", async () => {
    const id = visitor();
    await postDecide({ visitorId: id, slots: ["hero"], consent: { personalization: true, analytics: true } });
    expect(await exposures(id)).toBe(1);
    const res = await revoke({ visitorId: id, consent: { personalization: false, analytics: true } });
    expect(res.status).toBe(202);
    const { erased } = await res.json<{ erased: { visitorState: number; events: number } }>();
    expect(erased.visitorState).toBeGreaterThan(0);
    expect(erased.events).toBe(0);
    expect(await exposures(id)).toBe(0);
  });

  it("accepts text/plain (no CORS preflight for a keepalive request) and refuses other types", async () => {
    expect((await revoke({ visitorId: visitor(), consent: { personalization: false, analytics: false } }, "text/plain")).status).toBe(202);
    expect((await revoke({ visitorId: "v", consent: { personalization: false, analytics: false } }, "application/x-www-form-urlencoded")).status).toBe(415);
  });

  it.each([
    { body: { visitorId: "v" }, status: 400 },
    { body: { visitorId: "", consent: { personalization: false, analytics: false } }, status: 400 },
    { body: { visitorId: "v", consent: { personalization: "no", analytics: false } }, status: 400 },
    { body: "{nope", status: 400 },
  ])("refuses $body with $status", async ({ body, status }) => {
    expect((await revoke(body)).status).toBe(status);
  });
});
