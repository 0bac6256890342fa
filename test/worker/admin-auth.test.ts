import { describe, expect, it } from "vitest";
import { hasAdminToken } from "../../worker/admin/auth.ts";
import { call } from "./helpers.ts";

describe("admin authorisation", () => {
  it.each([
    { header: undefined, token: "t", ok: false },
    { header: "Bearer t", token: undefined, ok: false },
    { header: "Bearer t", token: "t", ok: true },
    { header: "bearer   t", token: "t", ok: true },
    { header: "Bearer tt", token: "t", ok: false },
    { header: "Basic t", token: "t", ok: false },
    { header: "Bearer ", token: "", ok: false },
  ])("$header with token $token → $ok", ({ header, token, ok }) => {
    expect(hasAdminToken(header, token)).toBe(ok);
  });

  it.each([{ auth: undefined }, { auth: "Bearer wrong" }])("answers 401 to $auth", async ({ auth }) => {
    const res = await call("/admin/anything", { headers: auth ? { authorization: auth } : {} });
    expect(res.status).toBe(401);
    expect((await res.json<{ error: { code: string } }>()).error.code).toBe("unauthorized");
  });
});
