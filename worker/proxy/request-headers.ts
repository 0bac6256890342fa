/**
 * What proxy mode sends to the origin: the visitor's request headers minus what must not cross
 * (hop-by-hop fields, the visitor's credentials, the Worker's own cookies) and, on paths it will
 * personalise, minus what would make the origin answer something HTMLRewriter cannot fill
 * (a 304, a 206, an encoding the runtime does not decode). The README's *Proxy mode* lists them.
 */
import { CONSENT_COOKIE, VISITOR_COOKIE } from "./request-context.ts";
import { SESSION_COOKIE } from "../console/session.ts";

/**
 * Never forwarded: hop-by-hop fields, meaningful for one connection only (RFC 9110 §7.6.1), the
 * visitor's credentials for a proxy, and Host (the origin URL names the host).
 */
const NEVER_FORWARDED = ["connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "proxy-authorization", "host"];
/**
 * Preconditions and ranges (RFC 9110 §13.1, §14.2): on a personalised path the origin must send
 * the whole page, with status 200, for every visitor, or there is nothing to fill.
 */
export const CONDITIONAL_HEADERS = ["if-none-match", "if-modified-since", "if-match", "if-unmodified-since", "if-range", "range"];
/** Asks for a digest of the origin's bytes, which rewriting changes (RFC 9530). */
const DIGEST_REQUESTS = ["want-digest", "want-content-digest", "want-repr-digest"];

export interface ForwardPolicy {
  /** The page will be personalised: the origin must answer 200 with the whole page. */
  personalised: boolean;
  /** The page goes through HTMLRewriter (personalised, or its links mapped for everyone). */
  rewritten: boolean;
  /** PROXY_FORWARD_AUTH: pass the visitor's `Authorization` to the origin. */
  forwardAuth: boolean;
  /** PROXY_FORWARD_COOKIES: the Worker's own cookies the origin may read (e.g. `nb_consent`). */
  forwardCookies: string[];
}

/** The Worker's own cookies, never sent to the origin unless listed in PROXY_FORWARD_COOKIES. */
export const OWN_COOKIES = [VISITOR_COOKIE, CONSENT_COOKIE];

/**
 * Cookies never sent to the origin, whatever PROXY_FORWARD_COOKIES says: the console's session
 * (worker/console/session.ts) is an admin credential; with it the origin could call the admin API.
 */
export const NEVER_FORWARDED_COOKIES = [SESSION_COOKIE];

/** The Cookie header without the Worker's own cookies (other cookies kept byte for byte). */
export function withoutOwnCookies(header: string, keep: string[]): string {
  return header
    .split(";")
    .filter((part) => {
      const i = part.indexOf("=");
      const name = (i < 0 ? part : part.slice(0, i)).trim();
      if (NEVER_FORWARDED_COOKIES.includes(name)) return false;
      return !OWN_COOKIES.includes(name) || keep.includes(name);
    })
    .map((part) => part.trim())
    .filter(Boolean)
    .join("; ");
}

/** Gzip is the one coding both origins and the runtime's transparent decoding share. */
function acceptEncodingForRewrite(visitor: string | null): string {
  const accepts = (visitor ?? "").split(",").some((item) => {
    const [coding, ...params] = item.split(";").map((s) => s.trim().toLowerCase());
    const q = params.find((p) => p.startsWith("q="));
    return (coding === "gzip" || coding === "*") && !(q && Number(q.slice(2)) === 0);
  });
  return accepts ? "gzip" : "identity";
}

/**
 * The headers of the request to the origin. Built in one pass over the visitor's headers into a
 * new list rather than by deleting from a copy: each `Headers` call crosses into the runtime (the
 * ~25 deletes per proxied page were ~3% of the Worker's JS samples in `PROFILE_CPU=1 npm run
 * profile -- proxy`). Field names are sent lower-case and repeated fields joined with ", ", as
 * iterating `Headers` gives them (the same fields under HTTP semantics). A name in `Connection`
 * that is no field name is ignored (deleting it threw), and a field it names is dropped even when
 * it is `Cookie`.
 */
export function originRequestHeaders(visitor: Headers, policy: ForwardPolicy): Headers {
  const dropped = new Set(NEVER_FORWARDED);
  // Fields named by Connection are hop-by-hop too (RFC 9110 §7.6.1).
  for (const name of (visitor.get("connection") ?? "").split(",")) if (name.trim()) dropped.add(name.trim().toLowerCase());
  if (!policy.forwardAuth) dropped.add("authorization");
  if (policy.personalised) for (const name of CONDITIONAL_HEADERS) dropped.add(name);
  const rewritten = policy.rewritten || policy.personalised;
  if (rewritten) {
    // Byte ranges and digests of bytes HTMLRewriter changes mean nothing to the visitor. A page
    // whose links alone are mapped keeps If-None-Match / If-Modified-Since: it is the same for
    // everyone, so the origin's 304 stays true (its ETag is passed on weakened).
    for (const name of ["range", "if-range", ...DIGEST_REQUESTS]) dropped.add(name);
    // A WebSocket or h2c upgrade answers 101, not a page.
    dropped.add("upgrade");
    dropped.add("accept-encoding");
  }
  const out: [string, string][] = [];
  for (const [name, value] of visitor) {
    if (dropped.has(name)) continue;
    if (name === "cookie") {
      const kept = withoutOwnCookies(value, policy.forwardCookies);
      if (kept) out.push([name, kept]);
    } else out.push([name, value]);
  }
  if (rewritten) out.push(["accept-encoding", acceptEncodingForRewrite(visitor.get("accept-encoding"))]);
  return new Headers(out);
}

/** True when the runtime hands HTMLRewriter the decoded page for this Content-Encoding. */
export function rewritableEncoding(contentEncoding: string | null): boolean {
  const coding = (contentEncoding ?? "").trim().toLowerCase();
  return coding === "" || coding === "identity" || coding === "gzip";
}
