/**
 * Cloudflare Access in front of the console (issue 19): when ACCESS_TEAM_DOMAIN and ACCESS_AUD are
 * configured, a request that carries Access's `Cf-Access-Jwt-Assertion` header with a valid token
 * signs in as the identity's email, without the admin token. The token is checked as Cloudflare's
 * "Validate JWTs" page says: RS256 against the team's keys at
 * `https://<team domain>/cdn-cgi/access/certs`, issuer `https://<team domain>`, audience the
 * application's AUD tag (developers.cloudflare.com/cloudflare-one/identity/authorization-cookie/validating-json/).
 * ACCESS_JWKS (the keys as JSON text) replaces the fetch where the team's keys cannot be reached
 * (tests, air-gapped staging).
 */
import { createLocalJWKSet, createRemoteJWKSet, jwtVerify, type JWTVerifyGetKey } from "jose";

export interface AccessConfig {
  ACCESS_TEAM_DOMAIN?: string;
  ACCESS_AUD?: string;
  ACCESS_JWKS?: string;
}

const remoteSets = new Map<string, JWTVerifyGetKey>();

function keysFor(config: AccessConfig, team: string): JWTVerifyGetKey {
  if (config.ACCESS_JWKS) return createLocalJWKSet(JSON.parse(config.ACCESS_JWKS));
  // One key set per isolate and team: jose caches the fetched keys and refetches on an unknown kid.
  let set = remoteSets.get(team);
  if (!set) remoteSets.set(team, (set = createRemoteJWKSet(new URL(`https://${team}/cdn-cgi/access/certs`))));
  return set;
}

/**
 * The signed-in identity of an Access token (its `email`, else `sub`), or null when Access is not
 * configured or the token is missing, malformed, expired, for another audience or badly signed.
 */
export async function accessIdentity(config: AccessConfig, assertion: string | undefined, now: number): Promise<string | null> {
  const team = config.ACCESS_TEAM_DOMAIN?.replace(/^https?:\/\//, "").replace(/\/+$/, "");
  if (!team || !config.ACCESS_AUD || !assertion || assertion.length > 8192) return null;
  try {
    const { payload } = await jwtVerify(assertion, keysFor(config, team), {
      issuer: `https://${team}`,
      audience: config.ACCESS_AUD,
      algorithms: ["RS256"],
      currentDate: new Date(now),
    });
    const who = typeof payload.email === "string" ? payload.email : payload.sub;
    return who ? who.slice(0, 64) : null;
  } catch {
    return null;
  }
}
