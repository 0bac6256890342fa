/**
 * Proxy mode: the Worker in front of a site. HTML of personalised paths gets its slots filled at
 * the edge while it streams; everything else passes through byte for byte with its headers.
 */
import { Hono } from "hono";
import { decideRequestSchema } from "../decide/schema.ts";
import { decideWithServices, requestCountry, type Defer } from "../decide/run.ts";
import type { AppEnv, Services } from "../services.ts";
import { matchesAny, proxyConfigFromEnv, type ProxyConfig } from "./config.ts";
import { consentFromCookies, parseCookies, requestSignals, visitorCookie, visitorIdFromCookies } from "./request-context.ts";
import { personalizeHtml, type PageFacts, type SlotFill } from "./rewrite.ts";

/** Fetches from the origin: this Worker's static assets, or the configured URL. */
async function fetchOrigin(env: Env, config: ProxyConfig, request: Request, path: string, search: string): Promise<Response> {
  const base = config.origin === "assets" ? new URL(request.url).origin : config.origin.href.replace(/\/$/, "");
  const target = new Request(`${base}${path}${search}`, request);
  // The origin is asked for the page as is: no compressed variants to rewrite, no conditional
  // requests that could answer 304 to a personalised page.
  return config.origin === "assets" ? env.ASSETS.fetch(target) : fetch(target, { redirect: "manual" });
}

/** Keeps redirects to the origin's own paths behind the proxy prefix. */
function withProxiedLocation(response: Response, config: ProxyConfig): Response {
  const location = response.headers.get("location");
  if (!config.prefix || !location?.startsWith("/") || location.startsWith("//")) return response;
  const proxied = new Response(response.body, response);
  proxied.headers.set("location", `${config.prefix}${location}`);
  return proxied;
}

function isHtml(response: Response): boolean {
  return response.status === 200 && /^text\/html\b/i.test(response.headers.get("content-type") ?? "");
}

/** Decides all slots of a page from request context and the visitor's stored state. */
function pageDecider(services: Services, defer: Defer, request: Request, url: URL, visitorId: string, consent: Record<string, boolean> & { personalization: boolean }, defaultSlots: string[]) {
  return async (facts: PageFacts): Promise<SlotFill[]> => {
    const [catalog, guardrails] = await Promise.all([services.catalog.get(), services.guardrails.current()]);
    const slots = (facts.slots?.length ? facts.slots : defaultSlots).filter((s) => catalog.slots[s]);
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

/** True when proxy mode is on and `path` is under its prefix. */
export function proxyServes(env: Env, path: string): boolean {
  const config = proxyConfigFromEnv(env as unknown as Record<string, string>);
  return !!config && (!config.prefix || path === config.prefix || path.startsWith(`${config.prefix}/`));
}

/** The proxy sub-app; mount it where the proxy answers (PROXY_PREFIX, or last for every path). */
export const proxyRoute = new Hono<AppEnv>().all("*", async (c) => {
  const config = proxyConfigFromEnv(c.env as unknown as Record<string, string>);
  if (!config) return c.notFound();
  const url = new URL(c.req.url);
  const path = url.pathname.slice(config.prefix.length) || "/";
  const origin = withProxiedLocation(await fetchOrigin(c.env, config, c.req.raw, path, url.search), config);

  const personalisable = (c.req.method === "GET" || c.req.method === "HEAD") && matchesAny(path, config.personalize) && !matchesAny(path, config.passThrough);
  if (!personalisable || !isHtml(origin)) return origin; // byte for byte, headers included

  const cookies = parseCookies(c.req.header("cookie") ?? null);
  const consent = consentFromCookies(cookies);
  if (!consent.personalization) {
    // Same page for everyone without consent, but caches must not hand it to visitors with it.
    const page = new Response(origin.body, origin);
    page.headers.append("vary", "Cookie");
    return page;
  }
  const known = visitorIdFromCookies(cookies);
  const visitorId = known ?? c.get("services").newId();
  const page = personalizeHtml(origin, pageDecider(c.get("services"), (work) => c.executionCtx.waitUntil(work), c.req.raw, url, visitorId, consent, config.slots), {
    budgetMs: config.budgetMs,
    ...(config.prefix ? { linkPrefix: config.prefix } : {}),
  });
  const personalised = new Response(page.body, page);
  // Personalised HTML is for this visitor only: never stored by a shared cache.
  personalised.headers.set("cache-control", "private, no-store");
  personalised.headers.append("vary", "Cookie");
  for (const h of ["etag", "last-modified", "content-length", "content-md5"]) personalised.headers.delete(h);
  if (!known) personalised.headers.append("set-cookie", visitorCookie(visitorId, url.protocol === "https:"));
  return personalised;
});
