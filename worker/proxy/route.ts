/**
 * Proxy mode: the Worker in front of a site. HTML of personalised paths gets its slots filled at
 * the edge while it streams; everything else passes through byte for byte, only URLs that name the
 * origin (redirects, cookies) moved behind the Worker. Headers in and out: request-headers.ts and
 * response-headers.ts.
 */
import { Hono } from "hono";
import { decideRequestSchema } from "../decide/schema.ts";
import { decideWithServices, requestCountry, type Defer } from "../decide/run.ts";
import type { AppEnv, Services } from "../services.ts";
import { AppError } from "../errors/app-error.ts";
import { onError } from "../errors/on-error.ts";
import { proxyConfigFromEnv, type ProxyConfig } from "./config.ts";
import { encodedPath, looselyUnderPrefix, normalisePath, underPrefix } from "./path.ts";
import { originRequestHeaders, rewritableEncoding } from "./request-headers.ts";
import { pageLinkRewrite, personalisedPath, proxyUrlMap } from "./page-links.ts";
import { personalisedPageHeaders, proxiedHeaders, rewrittenPageHeaders } from "./response-headers.ts";
import { consentFromCookies, parseCookies, requestSignals, VISITOR_COOKIE, visitorCookie, visitorIdFromCookies } from "./request-context.ts";
import { personalizeHtml, type PageFacts, type SlotFill } from "./rewrite.ts";

/** Where a request goes at the origin: always the configured origin, the path normalised once. */
function originTarget(config: ProxyConfig, url: URL): { path: string; target: URL } | { error: string } {
  const normal = normalisePath(url.pathname);
  if (!normal.ok) return { error: normal.reason };
  const rest = underPrefix(normal.segments, config.prefixSegments);
  if (!rest) return { error: "path is not under the proxy prefix" };
  const path = encodedPath({ segments: rest, trailingSlash: normal.trailingSlash });
  const origin = config.origin === "assets" ? new URL(url.origin) : config.origin;
  // The origin URL is built by setting a path on a copy of the configured one: the request can
  // change its path and query, never its scheme, host or port.
  const target = new URL(origin.href);
  target.pathname = `${origin.pathname.replace(/\/+$/, "")}${path}`;
  target.search = url.search;
  if (target.origin !== origin.origin) return { error: "path would leave the origin" };
  return { path, target };
}

/**
 * The origin's response, its headers within `timeoutMs`: a gateway's answers (RFC 9110 §15.6.3,
 * §15.6.5) when it cannot be reached (502 `bad_gateway`) or sends no headers in time (504
 * `gateway_timeout`, the request aborted). Only the headers are timed: once they are in, the body
 * streams at the origin's pace (a page that pauses mid-way keeps streaming); a request with a
 * body (an upload) is not timed. `abort` is the controller of `request`'s signal.
 */
async function fromOrigin(send: (request: Request) => Promise<Response>, request: Request, abort: AbortController, timeoutMs: number): Promise<Response> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    // A request with a body is not timed: its upload may take longer than the origin's answer
    // (Cloudflare's own limit counts from the end of the request, too).
    if (request.body) return;
    timer = setTimeout(() => {
      // Rejected before the abort: an origin that rejects at once on abort must not win the race (502).
      reject(new AppError("gateway_timeout", `the origin sent no response headers within ${timeoutMs} ms`));
      abort.abort();
    }, timeoutMs);
  });
  try {
    return await Promise.race([send(request), timedOut]);
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw new AppError("bad_gateway", `the origin did not answer: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    clearTimeout(timer);
  }
}

/** True for requests that take an HTML page: navigations, `*\/*` and requests without `Accept`. */
function acceptsHtml(request: Request): boolean {
  const accept = request.headers.get("accept");
  if (!accept) return true;
  if (/\btext\/html\b/i.test(accept)) return true;
  return accept.split(",").every((type) => type.trim().startsWith("*/*"));
}

function isHtml(response: Response): boolean {
  return response.status === 200 && /^text\/html\b/i.test(response.headers.get("content-type") ?? "") && rewritableEncoding(response.headers.get("content-encoding"));
}

/** Decides all slots of a page from request context and the visitor's stored state. */
function pageDecider(services: Services, defer: Defer, request: Request, url: URL, visitorId: string, consent: Record<string, boolean> & { personalization: boolean }, defaultSlots: string[]) {
  return async (facts: PageFacts): Promise<SlotFill[]> => {
    const [catalog, guardrails] = await Promise.all([services.catalog.get(), services.guardrails.current()]);
    const slots = (facts.slots?.length ? facts.slots : defaultSlots).filter((s) => Object.hasOwn(catalog.slots, s));
    if (!slots.length) return [];
    // Without a client script the session signals live in the visitor's Durable Object.
    const session = await services.visitorState(visitorId).pageView(facts.category, { now: services.now(), sessionTimeoutMs: guardrails.config.sessionTimeoutMinutes * 60_000 });
    const parsed = decideRequestSchema.safeParse({
      visitorId,
      slots,
      consent,
      context: {
        url: url.href.slice(0, 2048),
        signals: {
          ...requestSignals(request, url),
          ...session,
          ...(facts.category ? { pageCategory: facts.category } : {}),
          ...(facts.pageType ? { pageType: facts.pageType } : {}),
          ...(facts.tags?.length ? { pageTags: facts.tags } : {}),
        },
      },
    });
    if (!parsed.success) throw new Error(`page facts do not make a valid decide request: ${parsed.error.message}`);
    const { decisions } = await decideWithServices(parsed.data, services, defer, requestCountry(request));
    return decisions.map((d) => ({ slot: d.slot, decisionId: d.decisionId, blockId: d.block.id, html: d.block.html, reason: d.reason, modelVersion: d.modelVersion }));
  };
}

/**
 * True when proxy mode is on and the request URL's path is under its prefix (normalised as the
 * route does; a malformed path that still names the prefix is the proxy's, to answer 400).
 */
export function proxyServes(env: Env, requestUrl: string): boolean {
  const config = proxyConfigFromEnv(env as unknown as Record<string, string>);
  if (!config) return false;
  const pathname = new URL(requestUrl).pathname;
  const normal = normalisePath(pathname);
  return normal.ok ? !!underPrefix(normal.segments, config.prefixSegments) : looselyUnderPrefix(pathname, config.prefixSegments);
}

/** The proxy sub-app; mount it where the proxy answers (PROXY_PREFIX, or last for every path). */
export const proxyRoute = new Hono<AppEnv>().all("*", async (c) => {
  const config = proxyConfigFromEnv(c.env as unknown as Record<string, string>);
  if (!config) return c.notFound();
  const url = new URL(c.req.url);
  const resolved = originTarget(config, url);
  if ("error" in resolved) throw new AppError("invalid_request", `malformed path: ${resolved.error}`);
  const { path, target } = resolved;
  const request = c.req.raw;
  const map = proxyUrlMap(config, url);

  const cookies = parseCookies(request.headers.get("cookie"));
  const consent = consentFromCookies(cookies);
  const pagePath = (request.method === "GET" || request.method === "HEAD") && personalisedPath(config, path);
  const page = pagePath && acceptsHtml(request);
  const personalised = page && consent.personalization;
  // Links are mapped on every page of a personalised path, for every visitor: only the slots
  // differ by consent. Needed when the prefix or the origin's host differs from what visitors see.
  const pageLinks = page ? pageLinkRewrite(map) : undefined;
  const links = !!pageLinks;

  const abort = new AbortController(); // the origin's headers are timed (fromOrigin)
  const originRequest = new Request(target, {
    signal: abort.signal,
    method: request.method,
    headers: originRequestHeaders(request.headers, { personalised, rewritten: links, forwardAuth: config.forwardAuth, forwardCookies: config.forwardCookies }),
    body: request.method === "GET" || request.method === "HEAD" ? null : request.body,
    redirect: "manual",
  });
  if (personalised) {
    // The decision's configuration is read while the origin answers, not after: the decide then
    // finds it in the isolate's memo (a failure here is left to the decide, which reports it).
    const services = c.get("services");
    void Promise.all([services.catalog.get(), services.guardrails.current(), services.campaignHoldouts()]).catch(() => undefined);
  }
  const fetched = await fromOrigin(config.origin === "assets" ? (r) => c.env.ASSETS.fetch(r) : fetch, originRequest, abort, config.originTimeoutMs);
  if (fetched.status === 101) return fetched; // a WebSocket: nothing to map
  const headers = proxiedHeaders(fetched.headers, map);
  // On a path that is personalised, what an HTML answer becomes depends on `Accept` (an `<img>`
  // request gets the origin's bytes, a navigation the mapped page): a cache must keep them apart.
  if (pagePath && (isHtml(fetched) || fetched.status === 304)) headers.append("vary", "Accept");

  if (!page || !isHtml(fetched)) {
    // Byte for byte; only URLs naming the origin are moved behind the Worker.
    if (links && fetched.status === 304) return new Response(null, { status: 304, headers: rewrittenPageHeaders(headers) });
    return new Response(fetched.body, { status: fetched.status, statusText: fetched.statusText, headers });
  }
  // A page the origin marks as one user's (`Cache-Control: private` or `no-store`, or answered to
  // forwarded credentials) is not recorded for replay (link-replay.ts): whether a replay matched would show,
  // in timing, how far it equals the page last served to someone else.
  const sharedPage = !/(?:^|,)\s*(?:private|no-store)\s*(?:$|[,=])/i.test(fetched.headers.get("cache-control") ?? "") && !(config.forwardAuth && request.headers.has("authorization"));
  const pageKey = sharedPage ? { pageKey: `${url.origin}\n${config.prefix}\n${map.origin.href}\n${target.href}` } : {};
  const linkRewrite = pageLinks && { ...pageLinks, ...pageKey };
  // No id outlives personalisation consent: a page without it also deletes the visitor id cookie.
  if (!personalised && cookies.has(VISITOR_COOKIE)) headers.append("set-cookie", visitorCookie(undefined, url.protocol === "https:"));
  const origin = new Response(fetched.body, { status: fetched.status, statusText: fetched.statusText, headers });
  if (!personalised) {
    if (!linkRewrite) {
      // Same page for everyone without consent, but caches must not hand it to visitors with it.
      headers.append("vary", "Cookie");
      return origin;
    }
    const rewritten = personalizeHtml(origin, undefined, { budgetMs: config.budgetMs, links: linkRewrite });
    return new Response(rewritten.body, { status: 200, statusText: fetched.statusText, headers: rewrittenPageHeaders(headers) });
  }
  const known = visitorIdFromCookies(cookies);
  const visitorId = known ?? c.get("services").newId();
  const decider = pageDecider(c.get("services"), (work) => c.executionCtx.waitUntil(work), request, url, visitorId, consent, config.slots);
  const filled = personalizeHtml(origin, decider, { budgetMs: config.budgetMs, ...(linkRewrite ? { links: linkRewrite } : {}) });
  // Personalised HTML is for this visitor only: never stored by a shared cache, never revalidated.
  const out = personalisedPageHeaders(headers);
  if (!known) out.append("set-cookie", visitorCookie(visitorId, url.protocol === "https:"));
  return new Response(filled.body, { status: 200, statusText: fetched.statusText, headers: out });
});
proxyRoute.onError(onError);
