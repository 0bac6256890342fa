/**
 * `POST /v1/identify`: the site says who a visitor is. Trust model (docs/API.md, "Identity"): a
 * page could claim any customer id, so by default only a token signed by the site's backend is
 * accepted (HS256 with IDENTIFY_SECRET, or RS256/ES256 with a key of IDENTIFY_JWKS; single use, short-lived); the customer id, traits and
 * account come from its claims. IDENTIFY_UNSIGNED=true accepts them from the body instead (a site
 * that calls this route from its own server only). Needs personalisation consent: without it
 * nothing is linked or stored.
 */
import { Hono } from "hono";
import { z } from "zod";
import { AppError } from "../errors/app-error.ts";
import { jsonBody, limitBody, requireJson } from "../http/json-body.ts";
import { checkWriteLimits } from "../ratelimit/limits.ts";
import type { AppEnv } from "../services.ts";
import { applyIdentification, type Identification } from "./identify.ts";
import type { IdentityEnv } from "./keys.ts";
import { useTokenOnce } from "./replay.ts";
import { accountIdSchema, accountTraitsSchema, customerIdSchema, profileTraitsSchema } from "./schema.ts";
import { verifyIdentifyToken } from "./token.ts";

export const IDENTIFY_MAX_BYTES = 8 * 1024;

export const identifyRequestSchema = z
  .object({
    visitorId: z.string().min(1).max(128),
    consent: z.object({ personalization: z.boolean().default(false) }).catchall(z.boolean()).default({ personalization: false }),
    /** HS256 JWT from the site's backend (required unless IDENTIFY_UNSIGNED=true). */
    token: z.string().min(1).max(4096).optional(),
    customerId: customerIdSchema.optional(),
    traits: profileTraitsSchema.optional(),
    accountId: accountIdSchema.optional(),
    accountTraits: accountTraitsSchema.optional(),
  })
  .strict();

type IdentifyRequest = z.infer<typeof identifyRequestSchema>;

/** The trusted identification of a request, from its token or (unsigned mode) its body. */
async function identification(env: Env & IdentityEnv, body: IdentifyRequest, now: number, use = true): Promise<Identification> {
  if (body.token) {
    if (body.traits || body.accountId || body.accountTraits) throw new AppError("invalid_request", "with a token, traits and account come from its claims, not the body");
    const claims = await verifyIdentifyToken(body.token, { secret: env.IDENTIFY_SECRET, jwks: env.IDENTIFY_JWKS }, now);
    if (body.customerId !== undefined && body.customerId !== claims.sub) throw new AppError("unauthorized", "customerId: not the token's subject");
    if (claims.vid !== undefined && claims.vid !== body.visitorId) throw new AppError("unauthorized", "token: made for another visitor (vid)");
    // Used up only when it links: refused for lack of consent, nothing is stored, not even its id.
    if (use) await useTokenOnce(env.DB, claims.jti, claims.exp * 1000);
    return { visitorId: body.visitorId, customerId: claims.sub, ...(claims.traits && { traits: claims.traits }), ...(claims.accountId && { accountId: claims.accountId }), ...(claims.accountTraits && { accountTraits: claims.accountTraits }) };
  }
  if (env.IDENTIFY_UNSIGNED !== "true") throw new AppError("unauthorized", "token: required (unsigned identify is off: IDENTIFY_UNSIGNED)");
  if (!body.customerId) throw new AppError("invalid_request", "customerId: required without a token");
  return { visitorId: body.visitorId, customerId: body.customerId, ...(body.traits && { traits: body.traits }), ...(body.accountId && { accountId: body.accountId }), ...(body.accountTraits && { accountTraits: body.accountTraits }) };
}

export const identifyRoute = new Hono<AppEnv>().post("/", requireJson(), limitBody(IDENTIFY_MAX_BYTES), jsonBody(identifyRequestSchema), async (c) => {
  const body = c.req.valid("json");
  const services = c.get("services");
  // Bounded like every unauthenticated write: per client address and per visitor (worker/ratelimit/).
  await checkWriteLimits(services.writeLimits, c.req.header("cf-connecting-ip"), [body.visitorId]);
  const now = services.now();
  const env = c.env as Env & IdentityEnv;
  // Checked even without consent, so a bad token is a clear 4xx whatever the consent.
  const who = await identification(env, body, now, body.consent.personalization);
  if (!body.consent.personalization) return c.json({ linked: false, reason: "no_consent" }, 200, { "cache-control": "no-store" });
  const result = await applyIdentification(env, who, now);
  return c.json({ linked: true, ...result }, 200, { "cache-control": "no-store" });
});
