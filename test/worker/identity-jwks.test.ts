// Identify tokens signed with asymmetric keys (RS256, ES256) and verified with a configured JWKS
// (IDENTIFY_JWKS, read locally, never fetched): worker/identity/token.ts.
import { exportJWK, generateKeyPair, SignJWT, type JWK } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { AppError } from "../../worker/errors/app-error.ts";
import { verifyIdentifyToken } from "../../worker/identity/token.ts";

const NOW = Date.UTC(2026, 10, 30, 12, 0);
const SECRET = "jwks-test-shared-secret-0123456789";
type Key = Awaited<ReturnType<typeof generateKeyPair>>;
let rsa: Key;
let ec: Key;
let stranger: Key;
let jwks: string;
let n = 0;

beforeAll(async () => {
  [rsa, ec, stranger] = await Promise.all([generateKeyPair("RS256", { extractable: true }), generateKeyPair("ES256", { extractable: true }), generateKeyPair("RS256", { extractable: true })]);
  const pub = async (k: Key, kid: string, alg: string): Promise<JWK> => ({ ...(await exportJWK(k.publicKey)), kid, alg, use: "sig" });
  jwks = JSON.stringify({ keys: [await pub(rsa, "site-rsa-1", "RS256"), await pub(ec, "site-ec-1", "ES256")] });
});

function sign(alg: "RS256" | "ES256" | "HS256", key: CryptoKey | Uint8Array, { kid, exp = NOW / 1000 + 600 }: { kid?: string; exp?: number } = {}) {
  return new SignJWT({ traits: { plan: "pro" } })
    .setProtectedHeader({ alg, ...(kid ? { kid } : {}) })
    .setSubject("jwks-customer")
    .setJti(`jwks-jti-${++n}`)
    .setExpirationTime(Math.floor(exp))
    .sign(key);
}

async function outcome(make: () => Promise<string>, keys: { secret?: string; jwks?: string }): Promise<string> {
  try {
    const claims = await verifyIdentifyToken(await make(), keys, NOW);
    return `ok:${claims.sub}`;
  } catch (err) {
    if (err instanceof AppError) return err.code;
    throw err;
  }
}

describe("identify tokens verified with a JWKS", () => {
  it.each([
    { name: "RS256, valid", make: () => sign("RS256", rsa.privateKey, { kid: "site-rsa-1" }), keys: "jwks", want: "ok:jwks-customer" },
    { name: "ES256, valid", make: () => sign("ES256", ec.privateKey, { kid: "site-ec-1" }), keys: "jwks", want: "ok:jwks-customer" },
    { name: "RS256 without kid (one RSA key matches)", make: () => sign("RS256", rsa.privateKey), keys: "jwks", want: "ok:jwks-customer" },
    { name: "RS256, expired", make: () => sign("RS256", rsa.privateKey, { kid: "site-rsa-1", exp: NOW / 1000 - 60 }), keys: "jwks", want: "unauthorized" },
    { name: "RS256, wrong key under the site's kid", make: () => sign("RS256", stranger.privateKey, { kid: "site-rsa-1" }), keys: "jwks", want: "unauthorized" },
    { name: "RS256, unknown kid", make: () => sign("RS256", stranger.privateKey, { kid: "someone-else" }), keys: "jwks", want: "unauthorized" },
    { name: "HS256 when only a JWKS is configured", make: () => sign("HS256", new TextEncoder().encode(SECRET)), keys: "jwks", want: "unauthorized" },
    { name: "HS256 with both configured", make: () => sign("HS256", new TextEncoder().encode(SECRET)), keys: "both", want: "ok:jwks-customer" },
    { name: "RS256 with both configured", make: () => sign("RS256", rsa.privateKey, { kid: "site-rsa-1" }), keys: "both", want: "ok:jwks-customer" },
    { name: "RS256 when only the shared secret is configured", make: () => sign("RS256", rsa.privateKey, { kid: "site-rsa-1" }), keys: "secret", want: "unauthorized" },
    { name: "no key configured", make: () => sign("RS256", rsa.privateKey, { kid: "site-rsa-1" }), keys: "none", want: "invalid_config" },
  ])("$name → $want", async ({ make, keys, want }) => {
    const configured = { jwks: { jwks }, secret: { secret: SECRET }, both: { jwks, secret: SECRET }, none: {} }[keys]!;
    expect(await outcome(make, configured)).toBe(want);
  });

  it("refuses a malformed JWKS, or one holding a private key, as a configuration error", async () => {
    const make = () => sign("RS256", rsa.privateKey, { kid: "site-rsa-1" });
    expect(await outcome(make, { jwks: "{not json" })).toBe("invalid_config");
    expect(await outcome(make, { jwks: JSON.stringify({ keys: [] }) })).toBe("invalid_config");
    const priv = { ...(await exportJWK(rsa.privateKey)), kid: "site-rsa-1" };
    expect(await outcome(make, { jwks: JSON.stringify({ keys: [priv] }) })).toBe("invalid_config");
  });
});
