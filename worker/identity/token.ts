/**
 * Signed identify tokens: a JWT (RFC 7519) signed by the site's backend, verified here with
 * `jose`: HS256 (HMAC-SHA256, RFC 7518 §3.2) with the shared IDENTIFY_SECRET, or RS256 / ES256
 * (RFC 7518 §3.3, §3.4) with a public key of IDENTIFY_JWKS, a JSON Web Key Set (RFC 7517 §5)
 * configured as a Worker secret or var — read locally, never fetched, so verifying costs no
 * network call. The token's `kid` header picks the key when the set has several (key rotation:
 * publish the new key in the set, sign with it, drop the old one later). A page cannot forge a
 * token, so a customer id from an identify call is trusted only when it is the token's `sub`.
 *
 * Claims: `sub` the customer id, `exp` (required, at most TOKEN_MAX_TTL_SECONDS ahead), `jti`
 * (required, single use: replay protection, worker/identity/replay.ts), and optionally `vid` (the
 * visitor id the token was made for: binds it to one browser), `traits`, `accountId`,
 * `accountTraits`.
 */
import { createLocalJWKSet, errors, jwtVerify, type JWTVerifyGetKey } from "jose";
import { z } from "zod";
import { AppError, formatZodError } from "../errors/app-error.ts";
import { accountIdSchema, accountTraitsSchema, customerIdSchema, profileTraitsSchema } from "./schema.ts";

/** Longest lifetime a token may have left: bounds how long its `jti` is kept. */
export const TOKEN_MAX_TTL_SECONDS = 3600;

const claimsSchema = z.object({
  sub: customerIdSchema,
  exp: z.number().int(),
  jti: z.string().min(8).max(128),
  vid: z.string().min(1).max(128).optional(),
  traits: profileTraitsSchema.optional(),
  accountId: accountIdSchema.optional(),
  accountTraits: accountTraitsSchema.optional(),
});

export type IdentifyClaims = z.infer<typeof claimsSchema>;

/** The keys identify tokens may be signed with (either or both configured). */
export interface IdentifyKeys {
  /** Shared secret for HS256 (IDENTIFY_SECRET). */
  secret?: string;
  /** A JWKS as JSON text (IDENTIFY_JWKS): public RSA / EC P-256 keys for RS256 / ES256. */
  jwks?: string;
}

export const ASYMMETRIC_ALGORITHMS = ["RS256", "ES256"] as const;

const jwksSchema = z.object({ keys: z.array(z.object({ kty: z.enum(["RSA", "EC"]) }).passthrough()).min(1).max(20) });

// Parsed once per configured text: the Worker's vars live as long as the isolate.
const jwksCache = new Map<string, JWTVerifyGetKey>();
function localJwks(text: string): JWTVerifyGetKey {
  let set = jwksCache.get(text);
  if (!set) {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new AppError("invalid_config", "IDENTIFY_JWKS: not JSON");
    }
    const parsed = jwksSchema.safeParse(json);
    if (!parsed.success) throw new AppError("invalid_config", formatZodError(parsed.error, "IDENTIFY_JWKS"));
    if (parsed.data.keys.some((k) => "d" in k)) throw new AppError("invalid_config", "IDENTIFY_JWKS: holds a private key (give public keys only)");
    set = createLocalJWKSet(parsed.data as Parameters<typeof createLocalJWKSet>[0]);
    jwksCache.set(text, set);
  }
  return set;
}

/**
 * Verifies a token at `now` (ms) with the configured keys: HS256 with `secret`, RS256/ES256 with
 * `jwks`. Errors: 422 `invalid_config` when neither is set (or the JWKS is malformed); 401
 * `unauthorized` for a bad signature, an algorithm with no configured key, an unknown `kid`, an
 * expired token or one living too long; 400 `invalid_request` for bad claims.
 */
export async function verifyIdentifyToken(token: string, keys: IdentifyKeys | string, now: number): Promise<IdentifyClaims> {
  const { secret, jwks } = typeof keys === "string" ? { secret: keys, jwks: undefined } : keys;
  if (!secret && !jwks) throw new AppError("invalid_config", "signed identify is not configured: set the IDENTIFY_SECRET or IDENTIFY_JWKS Worker secret");
  const set = jwks ? localJwks(jwks) : undefined;
  const algorithms = [...(secret ? ["HS256"] : []), ...(set ? ASYMMETRIC_ALGORITHMS : [])];
  const hmac = secret ? new TextEncoder().encode(secret) : undefined;
  const key: JWTVerifyGetKey = (header, jws) => (header.alg === "HS256" ? hmac! : set!(header, jws));
  let payload: unknown;
  try {
    ({ payload } = await jwtVerify(token, key, { algorithms, currentDate: new Date(now), requiredClaims: ["sub", "exp", "jti"] }));
  } catch (err) {
    if (err instanceof errors.JWTExpired) throw new AppError("unauthorized", "token: expired");
    if (err instanceof errors.JWTClaimValidationFailed) throw new AppError("unauthorized", `token: ${err.message}`);
    if (err instanceof errors.JWKSNoMatchingKey) throw new AppError("unauthorized", "token: no key of IDENTIFY_JWKS matches its kid and algorithm");
    throw new AppError("unauthorized", `token: not a valid ${algorithms.join("/")} token signed with a configured key`);
  }
  const claims = claimsSchema.safeParse(payload);
  if (!claims.success) throw new AppError("invalid_request", formatZodError(claims.error, "token"));
  if (claims.data.exp * 1000 - now > TOKEN_MAX_TTL_SECONDS * 1000) throw new AppError("unauthorized", `token: expires more than ${TOKEN_MAX_TTL_SECONDS} s ahead`);
  return claims.data;
}
