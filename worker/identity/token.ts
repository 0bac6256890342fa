/**
 * Signed identify tokens: a JWT (RFC 7519) signed HS256 (HMAC-SHA256, RFC 7518 §3.2) by the site's
 * backend with IDENTIFY_SECRET, verified here with `jose`. A page cannot forge one, so a customer
 * id from an identify call is trusted only when it is the token's `sub`.
 *
 * Claims: `sub` the customer id, `exp` (required, at most TOKEN_MAX_TTL_SECONDS ahead), `jti`
 * (required, single use: replay protection, worker/identity/replay.ts), and optionally `vid` (the
 * visitor id the token was made for: binds it to one browser), `traits`, `accountId`,
 * `accountTraits`.
 */
import { errors, jwtVerify } from "jose";
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

/**
 * Verifies a token at `now` (ms). Errors: 401 `unauthorized` for a bad signature, a wrong
 * algorithm, an expired token or one living too long; 400 `invalid_request` for bad claims.
 */
export async function verifyIdentifyToken(token: string, secret: string, now: number): Promise<IdentifyClaims> {
  let payload: unknown;
  try {
    ({ payload } = await jwtVerify(token, new TextEncoder().encode(secret), { algorithms: ["HS256"], currentDate: new Date(now), requiredClaims: ["sub", "exp", "jti"] }));
  } catch (err) {
    if (err instanceof errors.JWTExpired) throw new AppError("unauthorized", "token: expired");
    if (err instanceof errors.JWTClaimValidationFailed) throw new AppError("unauthorized", `token: ${err.message}`);
    throw new AppError("unauthorized", "token: not a valid HS256 token signed with IDENTIFY_SECRET");
  }
  const claims = claimsSchema.safeParse(payload);
  if (!claims.success) throw new AppError("invalid_request", formatZodError(claims.error, "token"));
  if (claims.data.exp * 1000 - now > TOKEN_MAX_TTL_SECONDS * 1000) throw new AppError("unauthorized", `token: expires more than ${TOKEN_MAX_TTL_SECONDS} s ahead`);
  return claims.data;
}
