/**
 * Which pages behind the proxy get their links mapped, and how: shared by the proxy route (a
 * page's own links and the blocks it fills at the edge) and the decide route (the blocks nb.js
 * fills on such a page — after consent is given in the page's banner, or in slots added later —,
 * which the page's mapping never sees).
 */
import { blockLinksMapped } from "./block-links.ts";
import { matchesAny, proxyConfigFromEnv, type ProxyConfig } from "./config.ts";
import { encodedPath, normalisePath, underPrefix } from "./path.ts";
import { proxiedUrlMapper, rootRelativePathsChange, type UrlMap } from "./response-headers.ts";
import type { LinkRewrite } from "./rewrite.ts";

/** Where origin URLs land behind the Worker whose origin is `workerUrl`'s. */
export function proxyUrlMap(config: ProxyConfig, workerUrl: URL): UrlMap {
  return { workerOrigin: workerUrl.origin, prefix: config.prefix, origin: config.origin === "assets" ? new URL(workerUrl.origin) : config.origin };
}

/**
 * The link mapping of a page behind the Worker, or undefined when its links stay as written (no
 * prefix, and the origin's host is the Worker's). Without `pageKey` (link-replay.ts).
 */
export function pageLinkRewrite(map: UrlMap): LinkRewrite | undefined {
  if (!map.prefix && map.origin.origin === map.workerOrigin) return undefined;
  return {
    origin: map.origin.origin,
    map: proxiedUrlMapper(map),
    rootRelative: rootRelativePathsChange(map),
    mappingKey: `${map.workerOrigin}\n${map.prefix}\n${map.origin.href}`,
  };
}

/** The origin path of `pathname` when it is under the proxy's prefix (normalised as the route does). */
export function originPath(config: ProxyConfig, pathname: string): string | undefined {
  const normal = normalisePath(pathname);
  if (!normal.ok) return undefined;
  const rest = underPrefix(normal.segments, config.prefixSegments);
  return rest && encodedPath({ segments: rest, trailingSlash: normal.trailingSlash });
}

/** True for an origin path whose HTML the proxy personalises (and so maps): PROXY_PERSONALIZE, not PROXY_PASS_THROUGH. */
export function personalisedPath(config: ProxyConfig, path: string): boolean {
  return matchesAny(path, config.personalize) && !matchesAny(path, config.passThrough);
}

/**
 * For a decide asked for the page at `pageUrl` (the request's `context.url`), the mapping its
 * blocks' links need, or undefined when none: only for a page this Worker would serve through
 * the proxy with its links mapped (the same origin as the decide request `requestUrl` itself,
 * under the prefix, on a personalised path; with no prefix and no origin base path, only
 * links naming the origin), so
 * a block nb.js fills links where the blocks filled at the edge do. A `pageUrl` that is not a URL
 * is no page of ours. The mapping is what the page's own links get: a visitor who names another
 * page gets only what that page's blocks would carry anyway.
 */
export function decidedBlockLinks(env: Partial<Record<string, string>>, requestUrl: string, pageUrl: string | undefined): ((html: string) => string) | undefined {
  if (!pageUrl || !env.PROXY_ORIGIN) return undefined;
  const config = proxyConfigFromEnv(env);
  if (!config || !URL.canParse(pageUrl)) return undefined;
  const page = new URL(pageUrl);
  const worker = new URL(requestUrl);
  if (page.origin !== worker.origin) return undefined;
  const path = originPath(config, page.pathname);
  if (path === undefined || !personalisedPath(config, path)) return undefined;
  const links = pageLinkRewrite(proxyUrlMap(config, worker));
  return links && ((html: string) => blockLinksMapped(html, links));
}

/**
 * `decisions` with their blocks' links mapped for the page at `pageUrl` (decidedBlockLinks), or
 * as they are: what `POST /v1/decide` and the previews of it answer.
 */
export function withMappedBlockLinks<D extends { block: { html: string } }>(decisions: D[], env: Partial<Record<string, string>>, requestUrl: string, pageUrl: string | undefined): D[] {
  const mapLinks = decidedBlockLinks(env, requestUrl, pageUrl);
  return mapLinks ? decisions.map((d) => ({ ...d, block: { ...d.block, html: mapLinks(d.block.html) } })) : decisions;
}
