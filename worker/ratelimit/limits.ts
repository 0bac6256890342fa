/**
 * Rate limits on the public write routes (`POST /v1/decide`, `/v1/events`, `/v1/consent`, `/v1/identify`): per
 * client IP and per visitor, with Cloudflare's Rate Limiting binding (`[[ratelimits]]` in
 * wrangler.toml: RATE_LIMIT_IP and RATE_LIMIT_VISITOR; miniflare runs the same binding locally
 * under `wrangler dev` and the Worker tests). The binding counts per Cloudflare location in a
 * fixed window of `period` seconds and answers only `success`; it is not an exact global count
 * (https://developers.cloudflare.com/workers/runtime-apis/bindings/rate-limit/).
 *
 * Keys: the client IP Cloudflare gives (`CF-Connecting-IP`; absent only for calls that did not
 * come through Cloudflare's edge, which then have no IP limit), and the pseudonymous visitor key
 * (never the raw id). Both checks run at once, one binding call each, no Durable Object.
 *
 * `RATE_LIMIT_MODE = "report"` counts and logs but serves (load tests, the bench); anything else
 * enforces: 429 `rate_limited` with `Retry-After`.
 */
import { AppError } from "../errors/app-error.ts";
import { visitorKey } from "../visitor/key.ts";

/** The binding's one method (workers-types `RateLimit`). */
export interface RateLimiter {
  limit(options: { key: string }): Promise<{ success: boolean }>;
}

export interface WriteLimits {
  ip?: RateLimiter;
  visitor?: RateLimiter;
  mode: "enforce" | "report";
}

/**
 * Seconds a refused client waits: the binding's period (wrangler.toml `[ratelimits.simple]
 * period`, 60), the longest a fixed window can still refuse; the binding does not say when the
 * current window ends.
 */
export const RETRY_AFTER_SECONDS = 60;

/** Most distinct visitors of one events batch counted per visitor (a page sends one). */
const MAX_VISITORS_COUNTED = 20;

/** The limits from the bindings and `RATE_LIMIT_MODE`. */
export function writeLimitsFromEnv(env: Env): WriteLimits {
  const bindings = env as unknown as { RATE_LIMIT_IP?: RateLimiter; RATE_LIMIT_VISITOR?: RateLimiter; RATE_LIMIT_MODE?: string };
  return { ip: bindings.RATE_LIMIT_IP, visitor: bindings.RATE_LIMIT_VISITOR, mode: bindings.RATE_LIMIT_MODE === "report" ? "report" : "enforce" };
}

let lastReport = 0;

/**
 * Counts one write by this client IP and these visitors; throws 429 `rate_limited` (with
 * `Retry-After`) when a limit is exceeded and the mode enforces.
 */
export async function checkWriteLimits(limits: WriteLimits | undefined, ip: string | undefined, visitorIds: readonly string[]): Promise<void> {
  if (!limits) return;
  const ids = [...new Set(visitorIds)].slice(0, MAX_VISITORS_COUNTED);
  const checks: Promise<{ what: string; success: boolean }>[] = [];
  if (limits.ip && ip) checks.push(limits.ip.limit({ key: `ip:${ip}` }).then((r) => ({ what: "this client IP", success: r.success })));
  if (limits.visitor) {
    for (const id of ids) {
      checks.push(visitorKey(id).then((key) => limits.visitor!.limit({ key: `vk:${key}` })).then((r) => ({ what: "this visitor", success: r.success })));
    }
  }
  const refused = (await Promise.all(checks)).find((r) => !r.success);
  if (!refused) return;
  if (limits.mode === "report") {
    const now = Date.now();
    if (now - lastReport > 10_000) console.warn(`rate limit exceeded for ${refused.what} (RATE_LIMIT_MODE=report: served anyway)`);
    lastReport = now;
    return;
  }
  throw new AppError("rate_limited", `too many requests for ${refused.what}: retry after ${RETRY_AFTER_SECONDS} s`, { "retry-after": String(RETRY_AFTER_SECONDS) });
}

/** The visitor ids an events body names (before validation: counting needs no valid event). */
export function batchVisitorIds(body: unknown): string[] {
  const events = (body as { events?: unknown } | null)?.events;
  if (!Array.isArray(events)) return [];
  return events.slice(0, 100).flatMap((e) => {
    const id = (e as { visitorId?: unknown } | null)?.visitorId;
    return typeof id === "string" && id.length > 0 && id.length <= 128 ? [id] : [];
  });
}
