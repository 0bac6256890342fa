/**
 * What proxy mode does to the origin's response headers: URLs naming the origin (redirects,
 * `Content-Location`, `Refresh`, cookie `Domain`/`Path`) are moved behind the Worker and its
 * prefix, so the visitor never leaves the site; rewritten pages lose what described the origin's
 * bytes (length, validators, digests). The README's *Proxy mode* lists them.
 */

/** Where origin URLs land behind the Worker. */
export interface UrlMap {
  /** The Worker's own origin, as the visitor sees it (`https://shop.example`). */
  workerOrigin: string;
  /** PROXY_PREFIX, encoded, no trailing slash ("" = none). */
  prefix: string;
  /** The origin's URL (its path, without trailing slash, is the base the prefix stands for). */
  origin: URL;
}

const basePath = (origin: URL) => origin.pathname.replace(/\/+$/, "");

/** The origin path `p` as a path behind the Worker, or undefined when it is outside the origin's base. */
function proxiedPath(p: string, map: UrlMap): string | undefined {
  const base = basePath(map.origin);
  if (base && p !== base && !p.startsWith(`${base}/`)) return undefined;
  const rest = p.slice(base.length);
  return `${map.prefix}${rest}` || "/";
}

/**
 * Whether root-relative paths (`/x`) change behind the Worker: only with a prefix or an origin
 * base path. Without either, a page's root-relative links are already right and only absolute
 * and scheme-relative links naming the origin need mapping.
 */
export function rootRelativePathsChange(map: UrlMap): boolean {
  return map.prefix !== "" || basePath(map.origin) !== "";
}

/**
 * An origin URL as the visitor must see it: root-relative paths get the prefix (and stay
 * relative); absolute and scheme-relative URLs naming the origin become absolute URLs of the
 * Worker. Anything else (other hosts, document-relative paths) is returned unchanged.
 */
export function proxiedUrl(value: string, map: UrlMap): string {
  const trimmed = value.trim();
  if (trimmed.startsWith("/") && !trimmed.startsWith("//") && !trimmed.startsWith("/\\")) {
    const end = trimmed.search(/[?#]/);
    const path = end < 0 ? trimmed : trimmed.slice(0, end);
    const mapped = proxiedPath(path, map);
    return mapped === undefined ? value : mapped + (end < 0 ? "" : trimmed.slice(end));
  }
  let url: URL;
  try {
    url = new URL(trimmed, map.origin); // only absolute and scheme-relative ones can name a host
  } catch {
    return value;
  }
  if (!/^(?:[a-z][a-z0-9+.-]*:)?[/\\]{2}/i.test(trimmed) || url.origin !== map.origin.origin) return value;
  const mapped = proxiedPath(url.pathname, map);
  return mapped === undefined ? value : `${map.workerOrigin}${mapped}${url.search}${url.hash}`;
}

/**
 * `proxiedUrl` bound to one map, for the page's links (hundreds per page): when the origin has no
 * base path, a root-relative link (`/x`, not `//host` or `/\\host`, ending in printable ASCII)
 * is the prefix plus the link, with no parsing; everything else goes through `proxiedUrl`.
 * Same results as `proxiedUrl(value, map)` for every value.
 */
export function proxiedUrlMapper(map: UrlMap): (value: string) => string {
  if (basePath(map.origin)) return (value) => proxiedUrl(value, map);
  const { prefix } = map;
  return (value) => {
    const second = value.charCodeAt(1);
    // 47 = "/", 92 = "\\"; a last character outside printable ASCII (whitespace `trim` would
    // remove) is left to the general path.
    const last = value.charCodeAt(value.length - 1);
    if (value.charCodeAt(0) === 47 && second !== 47 && second !== 92 && last > 32 && last < 127) return prefix + value;
    return proxiedUrl(value, map);
  };
}

/** `Refresh: 5; url=https://origin/x` (the HTML `meta refresh` syntax, also sent as a header). */
function proxiedRefresh(value: string, map: UrlMap): string {
  const m = /^(\s*[\d.]+\s*[;,]\s*(?:url\s*=\s*)?)(["']?)(.*?)\2\s*$/i.exec(value);
  if (!m || !m[3]) return value;
  return `${m[1]}${m[2]}${proxiedUrl(m[3], map)}${m[2]}`;
}

/** One Set-Cookie value with `Domain` and `Path` naming the origin moved to the Worker. */
export function proxiedSetCookie(value: string, map: UrlMap, workerHost: string): string {
  const [pair, ...attributes] = value.split(";");
  const originHost = map.origin.hostname.toLowerCase();
  const rewritten = attributes.map((attribute) => {
    const i = attribute.indexOf("=");
    const name = (i < 0 ? attribute : attribute.slice(0, i)).trim().toLowerCase();
    const v = i < 0 ? "" : attribute.slice(i + 1).trim();
    if (name === "domain" && v.replace(/^\./, "").toLowerCase() === originHost && originHost !== workerHost) return ` Domain=${workerHost}`;
    if (name === "path" && v.startsWith("/")) {
      // The origin's root becomes the prefix itself: `Path=/edge` also covers `/edge` (RFC 6265 §5.1.4).
      const root = v.replace(/\/+$/, "") === basePath(map.origin);
      const mapped = root ? map.prefix || "/" : proxiedPath(v, map);
      return mapped === undefined || mapped === v ? attribute : ` Path=${mapped}`;
    }
    return attribute;
  });
  return [pair, ...rewritten].join(";");
}

/** The origin's headers with every URL that names the origin moved behind the Worker. */
export function proxiedHeaders(headers: Headers, map: UrlMap): Headers {
  const out = new Headers(headers);
  for (const name of ["location", "content-location"]) {
    const v = headers.get(name);
    if (v !== null) out.set(name, proxiedUrl(v, map));
  }
  const refresh = headers.get("refresh");
  if (refresh !== null) out.set("refresh", proxiedRefresh(refresh, map));
  const cookies = headers.getSetCookie();
  if (cookies.length) {
    const workerHost = new URL(map.workerOrigin).hostname;
    out.delete("set-cookie");
    for (const c of cookies) out.append("set-cookie", proxiedSetCookie(c, map, workerHost));
  }
  return out;
}

/** Fields that describe the origin's exact bytes: wrong once HTMLRewriter changed them. */
const BYTE_FIELDS = ["content-length", "content-md5", "digest", "content-digest", "repr-digest", "accept-ranges", "content-range"];
/** Validators and shared-cache freshness: a personalised page must never be reused or revalidated. */
const CACHE_FIELDS = ["etag", "last-modified", "expires", "age", "cdn-cache-control", "cloudflare-cdn-cache-control", "surrogate-control"];

/**
 * Headers of a page whose links were rewritten the same way for everyone (no slot filled): the
 * origin's validators stay usable, weakened (the bytes differ, the meaning does not; RFC 9110
 * §8.8.1), so the visitor's `If-None-Match` still reaches the origin and 304s keep working.
 */
export function rewrittenPageHeaders(headers: Headers): Headers {
  const out = new Headers(headers);
  for (const name of BYTE_FIELDS) out.delete(name);
  const etag = out.get("etag");
  if (etag && !etag.startsWith("W/")) out.set("etag", `W/${etag}`);
  out.append("vary", "Cookie");
  return out;
}

/** Headers of a personalised page: private, never stored, no validator, no byte description. */
export function personalisedPageHeaders(headers: Headers): Headers {
  const out = new Headers(headers);
  for (const name of [...BYTE_FIELDS, ...CACHE_FIELDS]) out.delete(name);
  out.set("cache-control", "private, no-store");
  out.append("vary", "Cookie");
  return out;
}
