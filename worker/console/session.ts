/**
 * Console sessions (issue 19): the admin token is exchanged once for a short-lived session cookie,
 * so the console page never holds the token in script-readable storage or in a URL.
 *
 * The cookie (`nb_console`, HttpOnly, Secure, SameSite=Strict, Path=/) carries
 * `v1.<expiresAt ms>.<actor, base64url>.<nonce>.<HMAC-SHA-256, base64url>`, keyed by a key derived
 * from ADMIN_TOKEN, and rotating the admin token signs every session out. Signing out records the
 * session's nonce in D1 (`console_signouts`) until the cookie would have expired, so a copy of a
 * signed-out cookie is refused too (activeSession); nothing else is stored. State changes also
 * need `X-CSRF-Token`, an HMAC of the session's nonce that the
 * page gets in the sign-in answer and keeps in memory only (the synchroniser-token pattern of the
 * OWASP CSRF Prevention Cheat Sheet, on top of SameSite=Strict, which a same-site subdomain could
 * otherwise get around).
 */

export const SESSION_COOKIE = "nb_console";
/** How long a session lasts, ms (2 h: "short-lived"; sign in again after). */
export const SESSION_TTL_MS = 2 * 60 * 60 * 1000;

/** A verified session. */
export interface ConsoleSession {
  /** Who is signed in: "admin" for the token, the Access identity's email otherwise. */
  actor: string;
  /** ms since the epoch. */
  expiresAt: number;
  /** The value `X-CSRF-Token` must carry on state changes. */
  csrf: string;
  /** The session's random id (what signing out records). */
  nonce: string;
}

const encoder = new TextEncoder();

/** Equal strings, compared in time independent of where they differ (workerd's `timingSafeEqual`). */
export function sameSecret(a: string, b: string): boolean {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  return x.byteLength === y.byteLength && crypto.subtle.timingSafeEqual(x, y);
}
const b64url = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const fromB64url = (text: string) => Uint8Array.from(atob(text.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));

async function hmac(adminToken: string, message: string): Promise<string> {
  // Domain-separated from every other use of the admin token.
  const key = await crypto.subtle.importKey("raw", encoder.encode(`nextbest console session v1|${adminToken}`), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return b64url(new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(message))));
}

/** Issues a session for `actor`: the cookie value and the session it stands for. */
export async function issueSession(adminToken: string, actor: string, now: number, nonce = b64url(crypto.getRandomValues(new Uint8Array(16)))): Promise<{ cookie: string; session: ConsoleSession }> {
  const expiresAt = now + SESSION_TTL_MS;
  const body = `v1.${expiresAt}.${b64url(encoder.encode(actor))}.${nonce}`;
  const cookie = `${body}.${await hmac(adminToken, body)}`;
  return { cookie, session: { actor, expiresAt, csrf: await hmac(adminToken, `csrf.${nonce}`), nonce } };
}

/** The session a cookie value stands for, or null (malformed, forged, expired, or no admin token). */
export async function verifySession(adminToken: string | undefined, cookie: string | undefined, now: number): Promise<ConsoleSession | null> {
  if (!adminToken || !cookie || cookie.length > 1024) return null;
  const parts = cookie.split(".");
  if (parts.length !== 5 || parts[0] !== "v1") return null;
  const [, expires, actorB64, nonce, mac] = parts as [string, string, string, string, string];
  if (!sameSecret(mac, await hmac(adminToken, parts.slice(0, 4).join(".")))) return null;
  const expiresAt = Number(expires);
  if (!Number.isFinite(expiresAt) || expiresAt <= now) return null;
  let actor: string;
  try {
    actor = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(fromB64url(actorB64));
  } catch {
    return null;
  }
  return { actor, expiresAt, csrf: await hmac(adminToken, `csrf.${nonce}`), nonce };
}

/** verifySession, and not signed out (one D1 read: console and admin traffic only). */
export async function activeSession(env: { ADMIN_TOKEN?: string; DB: D1Database }, cookie: string | undefined, now: number): Promise<ConsoleSession | null> {
  const session = await verifySession(env.ADMIN_TOKEN, cookie, now);
  if (!session) return null;
  const out = await env.DB.prepare("SELECT 1 AS out FROM console_signouts WHERE nonce = ?").bind(session.nonce).first("out");
  return out ? null : session;
}

/** Records a sign-out until the session would have expired, and forgets expired ones. */
export async function signOut(db: D1Database, session: ConsoleSession, now: number): Promise<void> {
  await db.batch([
    db.prepare("INSERT OR IGNORE INTO console_signouts (nonce, expires_at) VALUES (?, ?)").bind(session.nonce, session.expiresAt),
    db.prepare("DELETE FROM console_signouts WHERE expires_at <= ?").bind(now),
  ]);
}

/** `Set-Cookie` for a session (or, with `value` null, the one that signs out). */
export function sessionCookieHeader(value: string | null, now: number, expiresAt = now + SESSION_TTL_MS): string {
  const attributes = "Path=/; HttpOnly; Secure; SameSite=Strict";
  if (value === null) return `${SESSION_COOKIE}=; ${attributes}; Max-Age=0`;
  return `${SESSION_COOKIE}=${value}; ${attributes}; Max-Age=${Math.max(0, Math.floor((expiresAt - now) / 1000))}`;
}

/** The session cookie's value in a `Cookie` header. */
export function sessionCookieOf(header: string | undefined): string | undefined {
  for (const part of (header ?? "").split(";")) {
    const [name, ...rest] = part.trim().split("=");
    if (name === SESSION_COOKIE) return rest.join("=");
  }
  return undefined;
}
