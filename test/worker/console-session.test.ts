import { env } from "cloudflare:workers";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { accessIdentity } from "../../worker/console/access.ts";
import { consoleSessionRoute } from "../../worker/console/route.ts";
import { issueSession, SESSION_TTL_MS, verifySession } from "../../worker/console/session.ts";
/** The admin token of the test Worker (vitest.config.ts). */
const TEST_ADMIN_TOKEN = "test-admin-token";
import { call } from "./helpers.ts";

const json = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({ method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
const cookieOf = (res: Response) => /^nb_console=([^;]*)/.exec(res.headers.get("set-cookie") ?? "")?.[1] ?? "";

async function signIn(name = "ana") {
  const res = await call("/console/session", json({ token: TEST_ADMIN_TOKEN, name }));
  expect(res.status).toBe(200);
  const body = await res.json<{ actor: string; csrf: string; expiresAt: number }>();
  return { cookie: `nb_console=${cookieOf(res)}`, csrf: body.csrf, body, res };
}

describe("console sign-in: the admin token exchanged for a session cookie", () => {
  it("sets an HttpOnly, Secure, SameSite=Strict cookie and answers who and the CSRF token", async () => {
    const { res, body } = await signIn("ana@shop");
    const setCookie = res.headers.get("set-cookie")!;
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/Secure/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    expect(setCookie).toMatch(/Max-Age=(7200|7199)/);
    expect(setCookie).not.toContain(TEST_ADMIN_TOKEN);
    expect(body.actor).toBe("ana@shop");
    expect(body.csrf).toMatch(/^[\w-]{43}$/);
    expect(res.headers.get("cache-control")).toBe("no-store");
  });

  it.each([
    { body: { token: "wrong", name: "ana" }, status: 401 },
    { body: { token: TEST_ADMIN_TOKEN }, status: 400 },
    { body: { token: TEST_ADMIN_TOKEN, name: "<script>" }, status: 400 },
    { body: { token: TEST_ADMIN_TOKEN, name: "ana", extra: 1 }, status: 400 },
    { body: {}, status: 401 },
  ])("refuses $body with $status and no cookie", async ({ body, status }) => {
    const res = await call("/console/session", json(body));
    expect(res.status).toBe(status);
    expect(res.headers.get("set-cookie")).toBeNull();
    expect((await res.json<{ error: { code: string } }>()).error.code).toBeTypeOf("string");
  });

  it("lets the session read admin routes, and change them only with the CSRF token, as the signed-in user", async () => {
    const { cookie, csrf } = await signIn("ana");
    expect((await call("/admin/kill-switch", { headers: { cookie } })).status).toBe(200);
    // A cross-site form post carries no token (and, SameSite=Strict, not even the cookie).
    const forged = await call("/admin/kill-switch", json({ on: true, reason: "csrf" }, { cookie }));
    expect(forged.status).toBe(403);
    expect((await (await call("/admin/kill-switch", { headers: { cookie } })).json<{ on: boolean }>()).on).toBe(false);
    const wrong = await call("/admin/kill-switch", json({ on: true }, { cookie, "x-csrf-token": `${csrf.slice(1)}x` }));
    expect(wrong.status).toBe(403);
    // The page cannot claim another actor: the session's name is recorded.
    const ok = await call("/admin/kill-switch", json({ on: true, reason: "console" }, { cookie, "x-csrf-token": csrf, "x-nextbest-actor": "mallory" }));
    expect(ok.status).toBe(200);
    expect((await ok.json<{ on: boolean; changedBy: string }>()).changedBy).toBe("ana");
    await call("/admin/kill-switch", json({ on: false }, { cookie, "x-csrf-token": csrf }));
  });

  it("answers the current session to GET and signs out with DELETE", async () => {
    const { cookie, csrf } = await signIn("bo");
    const current = await call("/console/session", { headers: { cookie } });
    expect(await current.json()).toMatchObject({ actor: "bo", csrf });
    expect((await call("/console/session", { method: "DELETE", headers: { cookie } })).status).toBe(403);
    const out = await call("/console/session", { method: "DELETE", headers: { cookie, "x-csrf-token": csrf } });
    expect(out.status).toBe(204);
    expect(out.headers.get("set-cookie")).toMatch(/^nb_console=;.*Max-Age=0/);
    expect((await call("/console/session")).status).toBe(401);
    // A copy of the signed-out cookie (still unexpired and correctly signed) is refused too.
    expect((await call("/console/session", { headers: { cookie } })).status).toBe(401);
    expect((await call("/admin/kill-switch", { headers: { cookie } })).status).toBe(401);
    expect((await call("/admin/kill-switch", json({ on: true }, { cookie, "x-csrf-token": csrf }))).status).toBe(401);
    // Another session of the same user is not affected.
    const other = await signIn("bo");
    expect((await call("/admin/kill-switch", { headers: { cookie: other.cookie } })).status).toBe(200);
  });

  it.each([
    ["tampered", (c: string) => c.replace(/\.(\w)/, ".X$1")],
    ["another actor", (c: string) => c.replace(/\.([\w-]+)\.([\w-]+)\.([\w-]+)$/, `.${btoa("root").replace(/=+$/, "")}.$2.$3`)],
    ["truncated", (c: string) => c.slice(0, -2)],
    ["empty", () => ""],
  ])("refuses a %s cookie", async (_, change) => {
    const { cookie } = await signIn();
    const res = await call("/admin/kill-switch", { headers: { cookie: change(cookie) } });
    expect(res.status).toBe(401);
  });

  it("expires after two hours and with a rotated admin token (injected clock)", async () => {
    const now = Date.UTC(2026, 10, 30, 12);
    const { cookie } = await issueSession("k", "ana", now);
    expect(await verifySession("k", cookie, now + SESSION_TTL_MS - 1)).toMatchObject({ actor: "ana" });
    expect(await verifySession("k", cookie, now + SESSION_TTL_MS)).toBeNull();
    expect(await verifySession("rotated", cookie, now)).toBeNull();
    expect(await verifySession(undefined, cookie, now)).toBeNull();
  });
});

describe("console sign-in through Cloudflare Access", () => {
  const TEAM = "acme.cloudflareaccess.com";
  const AUD = "aud-tag-123";
  let token: (claims: { aud?: string; iss?: string; exp?: number; email?: string }) => Promise<string>;
  let config: { ACCESS_TEAM_DOMAIN: string; ACCESS_AUD: string; ACCESS_JWKS: string };

  beforeAll(async () => {
    const key = await generateKeyPair("RS256", { extractable: true });
    config = { ACCESS_TEAM_DOMAIN: TEAM, ACCESS_AUD: AUD, ACCESS_JWKS: JSON.stringify({ keys: [{ ...(await exportJWK(key.publicKey)), kid: "k1", alg: "RS256" }] }) };
    token = ({ aud = AUD, iss = `https://${TEAM}`, exp = Math.floor(Date.now() / 1000) + 600, email = "eve@acme.example" }) =>
      new SignJWT({ email }).setProtectedHeader({ alg: "RS256", kid: "k1" }).setAudience(aud).setIssuer(iss).setExpirationTime(exp).setSubject("u1").sign(key.privateKey);
  });

  it.each([
    ["valid", {}, "eve@acme.example"],
    ["another application", { aud: "other" }, null],
    ["another team", { iss: "https://evil.cloudflareaccess.com" }, null],
    ["expired", { exp: Math.floor(Date.now() / 1000) - 60 }, null],
  ])("%s token → %s", async (_, claims, who) => {
    expect(await accessIdentity(config, await token(claims), Date.now())).toBe(who);
  });

  it("is off unless configured", async () => {
    expect(await accessIdentity({ ...config, ACCESS_AUD: "" }, await token({}), Date.now())).toBeNull();
  });

  it("signs the Access user in without the admin token", async () => {
    const route = consoleSessionRoute();
    const res = await route.request("/", { headers: { "cf-access-jwt-assertion": await token({}) } }, { ...env, ...config });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ actor: "eve@acme.example" });
    expect(res.headers.get("set-cookie")).toMatch(/^nb_console=v1\./);
  });
});
