import type { MiddlewareHandler } from "hono";
import { AppError } from "../errors/app-error.ts";

/** Compares two strings in time independent of where they differ. */
function timingSafeEqual(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

/** True when the request carries `Authorization: Bearer <ADMIN_TOKEN>`. */
export function hasAdminToken(header: string | undefined, token: string | undefined): boolean {
  if (!token || !header) return false;
  const match = /^Bearer\s+(.+)$/i.exec(header.trim());
  return !!match && timingSafeEqual(match[1]!, token);
}

/**
 * Admin routes need `Authorization: Bearer <ADMIN_TOKEN>` (a Worker secret; locally from
 * `.dev.vars`). Without a configured token every admin request is refused.
 */
export function requireAdmin(): MiddlewareHandler<{ Bindings: Env }> {
  return async (c, next) => {
    if (!hasAdminToken(c.req.header("authorization"), c.env.ADMIN_TOKEN)) {
      throw new AppError("unauthorized", "admin routes need Authorization: Bearer <ADMIN_TOKEN>");
    }
    await next();
  };
}
