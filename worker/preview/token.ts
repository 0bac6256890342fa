/**
 * Preview links: a short-lived, signed token that lets the demo shop (or any page with nb.js)
 * render a preview without the admin bearer token. `v1.<payload>.<signature>`, base64url; the
 * payload is `{ exp, req }` (expiry in ms, the preview request) and the signature HMAC-SHA-256
 * (RFC 2104, WebCrypto) over `v1.<payload>` with a key derived from ADMIN_TOKEN — rotating the
 * admin token revokes every link. A token only ever previews: it records nothing and changes
 * nothing, and it shows what its admin chose to share.
 */
import { AppError } from "../errors/app-error.ts";

/** Longest a link may live, and the default. */
export const PREVIEW_LINK_MAX_SECONDS = 7 * 24 * 3600;
export const PREVIEW_LINK_DEFAULT_SECONDS = 3600;
/** Largest token accepted (URLs of a few KB work everywhere). */
export const PREVIEW_TOKEN_MAX_CHARS = 6000;

const enc = new TextEncoder();

function b64url(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromB64url(s: string): Uint8Array {
  const bin = atob(s.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

async function key(adminToken: string): Promise<CryptoKey> {
  // A purpose-bound key: the admin token itself never signs anything else.
  const base = await crypto.subtle.importKey("raw", enc.encode(adminToken), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const derived = await crypto.subtle.sign("HMAC", base, enc.encode("nextbest preview links v1"));
  return crypto.subtle.importKey("raw", derived, { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
}

/** Signs a preview request valid until `exp` (ms). */
export async function signPreview(req: unknown, exp: number, adminToken: string): Promise<string> {
  const body = `v1.${b64url(enc.encode(JSON.stringify({ exp, req })))}`;
  const sig = new Uint8Array(await crypto.subtle.sign("HMAC", await key(adminToken), enc.encode(body)));
  const token = `${body}.${b64url(sig)}`;
  if (token.length > PREVIEW_TOKEN_MAX_CHARS) throw new AppError("payload_too_large", `the preview link would be ${token.length} characters (max ${PREVIEW_TOKEN_MAX_CHARS}): describe the visitor with less`);
  return token;
}

/**
 * The request a token carries; 401 `unauthorized` for a forged, altered, malformed or expired
 * token (the message says which, never what a valid one would be).
 */
export async function verifyPreview(token: string, adminToken: string | undefined, now: number): Promise<unknown> {
  const bad = (why: string) => new AppError("unauthorized", `token: ${why}`);
  if (!adminToken) throw bad("preview links are disabled (no ADMIN_TOKEN)");
  const parts = token.split(".");
  if (parts.length !== 3 || parts[0] !== "v1" || token.length > PREVIEW_TOKEN_MAX_CHARS) throw bad("not a preview token");
  let sig: Uint8Array;
  let payload: { exp?: unknown; req?: unknown };
  try {
    sig = fromB64url(parts[2]!);
    payload = JSON.parse(new TextDecoder().decode(fromB64url(parts[1]!)));
  } catch {
    throw bad("not a preview token");
  }
  const ok = await crypto.subtle.verify("HMAC", await key(adminToken), sig, enc.encode(`v1.${parts[1]}`));
  if (!ok) throw bad("invalid signature");
  if (typeof payload.exp !== "number" || payload.exp <= now) throw bad("expired");
  return payload.req;
}
