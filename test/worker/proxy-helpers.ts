/**
 * Proxy mode under test: the real app, bindings and models, with proxy settings overridden per
 * test and a generous decide budget (tests assert behaviour, never speed). Every request the
 * proxy sends to its origin is recorded.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, vi } from "vitest";
import { createApp } from "../../worker/app.ts";

export const CONSENT = "nb_consent=personalization%3D1%26analytics%3D1";
export const BASE = "http://nextbest.test";
const app = createApp();

export interface ProxyCall {
  /** Proxy settings and other vars, over wrangler.toml's. */
  vars?: Record<string, string>;
  /** The origin for PROXY_ORIGIN=assets (default: the real static assets). */
  assets?: (request: Request) => Promise<Response>;
}

/** Requests the origin received, in order. */
export const originRequests: Request[] = [];

/** Sends `init` to `path` (kept exactly as written after `BASE`) through the proxy. */
export async function proxied(path: string, init: RequestInit = {}, setup: ProxyCall = {}): Promise<Response> {
  const assets = setup.assets ?? ((r: Request) => env.ASSETS.fetch(r));
  const testEnv = {
    ...env,
    PROXY_BUDGET_MS: "30000",
    ...setup.vars,
    ASSETS: {
      fetch: (input: RequestInfo | URL, init?: RequestInit) => {
        const request = new Request(input, init);
        originRequests.push(request.clone());
        return assets(request);
      },
    },
  };
  const ctx = createExecutionContext();
  const res = await app.fetch(new Request(`${BASE}${path}`, { redirect: "manual", ...init }), testEnv, ctx);
  const body = await res.arrayBuffer();
  await waitOnExecutionContext(ctx);
  return new Response(res.status === 101 || res.status === 204 || res.status === 304 ? null : body, { status: res.status, headers: res.headers });
}

/**
 * An origin on another host (PROXY_ORIGIN=<url>) answering with `handler`: the Worker's outbound
 * fetch is answered here, so nothing leaves the machine, and each request is recorded.
 */
export function externalOrigin(handler: (request: Request) => Response | Promise<Response>): void {
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    originRequests.push(request.clone());
    return handler(request);
  });
}

afterEach(() => {
  originRequests.length = 0;
  vi.restoreAllMocks();
});

export const html = (body: string, headers: Record<string, string> = {}, status = 200) =>
  new Response(body, { status, headers: { "content-type": "text/html; charset=utf-8", ...headers } });
