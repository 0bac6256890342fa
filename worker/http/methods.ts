/**
 * 405 Method Not Allowed: a request whose path is a route of the API but whose method is not
 * answers 405 with an `Allow` header listing the methods that path takes (RFC 9110 §15.5.6 and
 * §10.2.1), in the API's error shape — not a 404, which would say the resource does not exist.
 */
import type { Context } from "hono";
import { AppError } from "../errors/app-error.ts";
import { errorResponse } from "../errors/on-error.ts";

/** One registered route as Hono lists it (`app.routes`). */
export interface RouteEntry {
  method: string;
  path: string;
}

const patternCache = new Map<string, RegExp>();

/** A `:name` segment, honouring Hono's `:name{regexp}` constraint (`/admin/guardrails/:version{[0-9]+}`). */
function param(segment: string): string {
  const constraint = /^:[^{]+\{(.+)\}\??$/.exec(segment)?.[1];
  return constraint ? `(?:${constraint})` : "[^/]+";
}

/** Hono's path syntax (`/admin/models/:id/activate`, `*`) as an anchored regular expression. */
function pattern(path: string): RegExp {
  let re = patternCache.get(path);
  if (!re) {
    const body = path
      .split("/")
      .map((segment) => (segment === "*" ? ".*" : segment.startsWith(":") ? param(segment) : segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
      .join("/");
    re = new RegExp(`^${body}$`);
    patternCache.set(path, re);
  }
  return re;
}

/**
 * The routes a path can match, by its first segment: that segment's routes plus those starting
 * with a parameter (they match any); `anyFirst` alone for a segment no route names.
 */
interface RouteIndex {
  size: number;
  bySegment: Map<string, RouteEntry[]>;
  anyFirst: RouteEntry[];
}
const indexes = new WeakMap<readonly RouteEntry[], RouteIndex>();

const firstSegment = (path: string) => path.split("/", 2)[1] ?? "";

/**
 * The routes grouped by first path segment, built once per route list (rebuilt if routes were
 * added since): a proxied page asks this on every request, and testing each of the few hundred
 * route patterns against it was ~3% of the Worker's JS samples in proxy mode
 * (`PROFILE_CPU=1 npm run profile -- proxy`).
 */
function routeIndex(routes: readonly RouteEntry[]): RouteIndex {
  const known = indexes.get(routes);
  if (known && known.size === routes.length) return known;
  const named = new Map<string, RouteEntry[]>();
  const anyFirst: RouteEntry[] = [];
  for (const route of routes) {
    if (route.method === "ALL" || route.path.includes("*")) continue;
    const first = firstSegment(route.path);
    if (first.startsWith(":")) anyFirst.push(route);
    else named.set(first, [...(named.get(first) ?? []), route]);
  }
  const bySegment = new Map([...named].map(([segment, list]) => [segment, [...list, ...anyFirst]]));
  const index = { size: routes.length, bySegment, anyFirst };
  indexes.set(routes, index);
  return index;
}

/**
 * The methods the routes accept for `path`, sorted; `HEAD` wherever `GET` is (Hono answers it).
 * Middleware (`ALL`) and catch-all (`*`) entries name no method of a resource and are skipped.
 * Empty when no route has this path: the caller answers 404.
 */
export function allowedMethods(routes: readonly RouteEntry[], path: string): string[] {
  const { bySegment, anyFirst } = routeIndex(routes);
  const methods = new Set<string>();
  for (const route of bySegment.get(firstSegment(path)) ?? anyFirst) {
    if (pattern(route.path).test(path)) methods.add(route.method);
  }
  if (methods.has("GET")) methods.add("HEAD");
  return [...methods].sort();
}

/**
 * The 405 answer for a request to a known path with a method it does not take, or undefined
 * when the path is not a route at all. `extra` adds methods answered by middleware (CORS
 * preflights answer `OPTIONS` under `/v1/`).
 */
export function methodNotAllowed(c: Context, routes: readonly RouteEntry[], extra: string[] = []): Response | undefined {
  const allowed = allowedMethods(routes, c.req.path);
  // No route has this path, or one takes this very method but refused it for its parameters
  // (e.g. a non-numeric guardrails version): not a wrong method, a 404.
  if (allowed.length === 0 || allowed.includes(c.req.method)) return undefined;
  const allow = [...new Set([...allowed, ...extra])].sort();
  const res = errorResponse(c, new AppError("method_not_allowed", `${c.req.method} is not allowed on ${c.req.path}; use ${allowed.filter((m) => m !== "HEAD").join(" or ")}`));
  res.headers.set("allow", allow.join(", "));
  return res;
}
