/**
 * Proxy mode settings, from wrangler.toml [vars] (or secrets): the Worker in front of a site
 * fills its slots in the HTML while it streams.
 */

import { encodedPath, normalisePath } from "./path.ts";
import { matchesAnyPath } from "../patterns/url-pattern.ts";

export interface ProxyConfig {
  /** Path prefix the proxy answers under, normalised and percent-encoded ("" = every path the Worker does not serve itself). */
  prefix: string;
  /** The prefix's decoded segments (`/edge` → `["edge"]`), compared with the request's. */
  prefixSegments: string[];
  /** `assets` (this Worker's static assets, the demo shop) or an origin URL. */
  origin: "assets" | URL;
  /** URLPattern pathnames (after the prefix) whose HTML is personalised. */
  personalize: string[];
  /** URLPattern pathnames passed through untouched even if they match `personalize`. */
  passThrough: string[];
  /** Slots decided when a page does not declare its own in `<meta name="nb:slots">`. */
  slots: string[];
  /** Deciding may delay the first slot by at most this long; then the origin HTML streams unchanged. */
  budgetMs: number;
  /**
   * How long the origin may take to send its response headers (ms, PROXY_ORIGIN_TIMEOUT_MS,
   * default 30,000); then the visitor gets `504 gateway_timeout`. The body is not timed: a page
   * that streams slowly keeps streaming.
   */
  originTimeoutMs: number;
  /** PROXY_FORWARD_AUTH = "true": the visitor's `Authorization` header reaches the origin. */
  forwardAuth: boolean;
  /** PROXY_FORWARD_COOKIES: the Worker's own cookies (`nb_consent`, `nb_vid`) the origin may read. */
  forwardCookies: string[];
}

/** The origin's time to its headers: 30 s by default, at most Cloudflare's own 100 s (its 524). */
const DEFAULT_ORIGIN_TIMEOUT_MS = 30_000;
const MAX_ORIGIN_TIMEOUT_MS = 100_000;

const list = (v: string | undefined, fallback: string[]): string[] => {
  const items = (v ?? "").split(",").map((s) => s.trim()).filter(Boolean);
  return items.length ? items : fallback;
};

/** Settings read per env object: an isolate's env does not change, so they are parsed once, not per request. */
const byEnv = new WeakMap<object, ProxyConfig | undefined>();

/** Reads the proxy settings; undefined when proxy mode is off (no PROXY_ORIGIN). Remembered per env object. */
export function proxyConfigFromEnv(env: Partial<Record<string, string>>): ProxyConfig | undefined {
  if (byEnv.has(env)) return byEnv.get(env);
  const config = readProxyConfig(env);
  byEnv.set(env, config);
  return config;
}

function readProxyConfig(env: Partial<Record<string, string>>): ProxyConfig | undefined {
  const originVar = (env.PROXY_ORIGIN ?? "").trim();
  if (!originVar) return undefined;
  let origin: ProxyConfig["origin"];
  if (originVar === "assets") origin = "assets";
  else {
    try {
      origin = new URL(originVar);
    } catch {
      console.error(`PROXY_ORIGIN is not a URL: ${originVar}; proxy mode is off`);
      return undefined;
    }
  }
  const budget = Number(env.PROXY_BUDGET_MS);
  const originTimeout = Number(env.PROXY_ORIGIN_TIMEOUT_MS);
  const prefix = normalisePath(env.PROXY_PREFIX ?? "");
  if (!prefix.ok) {
    console.error(`PROXY_PREFIX is not a valid path (${prefix.reason}); proxy mode is off`);
    return undefined;
  }
  const prefixPath = { segments: prefix.segments, trailingSlash: false };
  return {
    prefix: prefix.segments.length ? encodedPath(prefixPath) : "",
    prefixSegments: prefix.segments,
    origin,
    personalize: list(env.PROXY_PERSONALIZE, ["/*"]),
    passThrough: list(env.PROXY_PASS_THROUGH, []),
    slots: list(env.PROXY_SLOTS, ["hero", "sidebar"]),
    budgetMs: Number.isFinite(budget) && budget > 0 ? budget : 50,
    originTimeoutMs: Number.isFinite(originTimeout) && originTimeout > 0 ? Math.min(originTimeout, MAX_ORIGIN_TIMEOUT_MS) : DEFAULT_ORIGIN_TIMEOUT_MS,
    forwardAuth: (env.PROXY_FORWARD_AUTH ?? "").trim().toLowerCase() === "true",
    forwardCookies: list(env.PROXY_FORWARD_COOKIES, []),
  };
}

/**
 * True when `pathname` matches one of the path patterns, in time linear in the path
 * (worker/patterns/url-pattern.ts: a pattern with regular-expression groups matches nothing).
 */
export function matchesAny(pathname: string, list: string[]): boolean {
  return matchesAnyPath(pathname, list);
}
