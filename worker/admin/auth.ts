import type { MiddlewareHandler } from "hono";
import { accessIdentity } from "../console/access.ts";
import { activeSession, sameSecret, sessionCookieOf } from "../console/session.ts";
import { AppError } from "../errors/app-error.ts";

/** True when the request carries `Authorization: Bearer <ADMIN_TOKEN>`. */
export function hasAdminToken(header: string | undefined, token: string | undefined): boolean {
  if (!token || !header) return false;
  const match = /^Bearer\s+(.+)$/i.exec(header.trim());
  return !!match && sameSecret(match[1]!, token);
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * Admin routes need one of:
 * - `Authorization: Bearer <ADMIN_TOKEN>` (a Worker secret; locally from `.dev.vars`);
 * - the console's session cookie (worker/console/session.ts), with `X-CSRF-Token` on every
 *   state change (403 `forbidden` without it);
 * - a valid Cloudflare Access token when Access is configured (worker/console/access.ts), which
 *   is a browser's identity as well: its state changes need a console session's CSRF token too.
 * A console or Access request acts as its signed-in user: `X-Nextbest-Actor` is replaced by it,
 * so what the audit trails record is who was signed in, not what the page claims.
 * Without a configured token every admin request is refused.
 */
export function requireAdmin(now: () => number = Date.now): MiddlewareHandler<{ Bindings: Env }> {
  return async (c, next) => {
    if (hasAdminToken(c.req.header("authorization"), c.env.ADMIN_TOKEN)) return next();
    const session = await activeSession(c.env, sessionCookieOf(c.req.header("cookie")), now());
    if (session) {
      if (!SAFE_METHODS.has(c.req.method) && !sameSecret(c.req.header("x-csrf-token") ?? "", session.csrf)) {
        throw new AppError("forbidden", "a change from the console needs the session's X-CSRF-Token header");
      }
      actAs(c.req, session.actor);
      return next();
    }
    if (SAFE_METHODS.has(c.req.method)) {
      const identity = await accessIdentity(c.env, c.req.header("cf-access-jwt-assertion"), now());
      if (identity) {
        actAs(c.req, identity);
        return next();
      }
    }
    throw new AppError("unauthorized", "admin routes need Authorization: Bearer <ADMIN_TOKEN> or a console session (POST /console/session)");
  };
}

/** Replaces the request's `X-Nextbest-Actor` with the signed-in user. */
function actAs(req: { raw: Request }, actor: string): void {
  const headers = new Headers(req.raw.headers);
  headers.set("x-nextbest-actor", actor);
  req.raw = new Request(req.raw, { headers });
}
