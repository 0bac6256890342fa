/**
 * What the edge knows about a visitor without a client script: cookies (consent, visitor id), the
 * URL (UTM), headers (referrer, device). Pure functions of the request.
 */
import type { Signals } from "../ranking/signals.ts";

/** Consent cookie, written by the client script or the site's CMP: `personalization=1&analytics=0`. */
export const CONSENT_COOKIE = "nb_consent";
/**
 * First-party visitor id cookie, set by the edge only with personalisation consent. The client
 * script reads and writes it too (client/consent.ts), so a browser has one visitor id whether its
 * slots were filled at the edge or by the script: events on edge-filled slots join their
 * decisions. Not HttpOnly for that reason: it is a pseudonymous id, not a credential (a customer
 * is only ever linked to it by a signed identify, worker/identity/).
 */
export const VISITOR_COOKIE = "nb_vid";
const VISITOR_ID = /^[A-Za-z0-9_-]{8,128}$/;
const MAX_AGE_SECONDS = 400 * 24 * 3600; // the longest lifetime browsers allow

/** Parses the Cookie header into a map (first occurrence wins). */
export function parseCookies(header: string | null): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const part of (header ?? "").split(";")) {
    const i = part.indexOf("=");
    if (i <= 0) continue;
    const name = part.slice(0, i).trim();
    if (cookies.has(name)) continue;
    try {
      cookies.set(name, decodeURIComponent(part.slice(i + 1).trim()));
    } catch {
      // a malformed value is ignored, as if absent
    }
  }
  return cookies;
}

/** Consent purposes from the consent cookie; absent or unreadable means none. */
export function consentFromCookies(cookies: Map<string, string>): Record<string, boolean> & { personalization: boolean; analytics: boolean } {
  const params = new URLSearchParams(cookies.get(CONSENT_COOKIE) ?? "");
  const yes = (k: string) => params.get(k) === "1" || params.get(k) === "true";
  const consent: Record<string, boolean> = {};
  for (const key of params.keys()) if (/^[a-z_]{1,32}$/.test(key)) consent[key] = yes(key);
  return { ...consent, personalization: yes("personalization"), analytics: yes("analytics") };
}

/** The visitor id cookie, when well-formed. */
export function visitorIdFromCookies(cookies: Map<string, string>): string | undefined {
  const id = cookies.get(VISITOR_COOKIE);
  return id && VISITOR_ID.test(id) ? id : undefined;
}

/** The Set-Cookie value for a new visitor id; without `id`, the one that deletes it (no consent). */
export function visitorCookie(id: string | undefined, secure: boolean): string {
  return `${VISITOR_COOKIE}=${id ?? ""}; Path=/; Max-Age=${id ? MAX_AGE_SECONDS : 0}; SameSite=Lax${secure ? "; Secure" : ""}`;
}

/** Device class from client hints or the user agent (tablets before phones: iPad UAs say Mobile). */
export function deviceFromHeaders(headers: Headers): Signals["device"] {
  const ua = headers.get("user-agent") ?? "";
  if (/iPad|Tablet|Android(?!.*Mobile)/i.test(ua)) return "tablet";
  if (headers.get("sec-ch-ua-mobile") === "?1" || /Mobi|iPhone|Android/i.test(ua)) return "mobile";
  return "desktop";
}

/** Signals the edge can read from the request itself. */
export function requestSignals(request: Request, url: URL): Signals {
  const signals: Signals = { device: deviceFromHeaders(request.headers) };
  // Parsed only when present: an empty string would throw, and building the error costs more
  // than the rest of this function.
  const referer = request.headers.get("referer");
  if (referer) {
    try {
      const host = new URL(referer).hostname;
      if (host && host !== url.hostname) signals.referrer = host.slice(0, 200);
    } catch {
      // an unparsable referrer
    }
  }
  const utm: NonNullable<Signals["utm"]> = {};
  for (const field of ["source", "medium", "campaign", "term", "content"] as const) {
    const v = url.searchParams.get(`utm_${field}`);
    if (v) utm[field] = v.slice(0, 200);
  }
  if (Object.keys(utm).length) signals.utm = utm;
  return signals;
}
