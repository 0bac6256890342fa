/**
 * Webhook signatures. Each delivery carries
 *
 *   X-Nextbest-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>
 *
 * (the scheme Stripe documents for its webhooks, https://docs.stripe.com/webhooks#verify-manually:
 * signing the timestamp with the body lets a receiver refuse replays of an old, validly signed
 * request). A receiver: (1) splits the header on "," and "="; (2) recomputes the HMAC over
 * `t + "." + rawBody` with the shared secret; (3) compares it with `v1` in constant time;
 * (4) refuses when |now − t| exceeds its tolerance (we suggest `SIGNATURE_TOLERANCE_SECONDS`);
 * (5) dedupes on the `Idempotency-Key` header (the decision id), since a retry is re-signed with
 * a new `t` but carries the same body and key. `verifySignature` below is that procedure.
 */
import { hex } from "../crypto/hex.ts";

/** Replay window suggested to receivers, seconds (Stripe's default is the same five minutes). */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

/** Header names of a delivery. */
export const SIGNATURE_HEADER = "X-Nextbest-Signature";
export const IDEMPOTENCY_HEADER = "Idempotency-Key";
export const ATTEMPT_HEADER = "X-Nextbest-Delivery-Attempt";

const encoder = new TextEncoder();

async function hmacHex(secret: string, text: string): Promise<string> {
  const key = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = await crypto.subtle.sign("HMAC", key, encoder.encode(text));
  return hex(mac);
}

/** The signature header value for `body` sent at `unixSeconds`. */
export async function signatureHeader(secret: string, unixSeconds: number, body: string): Promise<string> {
  return `t=${unixSeconds},v1=${await hmacHex(secret, `${unixSeconds}.${body}`)}`;
}

/** Constant-time comparison of two hex strings of equal length. */
function sameHex(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** Why a signature was refused, or `ok`. */
export type SignatureCheck = "ok" | "malformed" | "mismatch" | "expired";

/**
 * What a receiver does with a delivery (see the module comment): `ok` when `header` signs
 * `body` with `secret` and its timestamp is within `toleranceSeconds` of `nowSeconds`.
 */
export async function verifySignature(secret: string, header: string | null, body: string, nowSeconds: number, toleranceSeconds = SIGNATURE_TOLERANCE_SECONDS): Promise<SignatureCheck> {
  if (!header) return "malformed";
  const parts = new Map(header.split(",").map((p) => p.trim().split("=", 2) as [string, string]));
  const t = Number(parts.get("t"));
  const v1 = parts.get("v1");
  if (!Number.isInteger(t) || !v1 || !/^[0-9a-f]{64}$/.test(v1)) return "malformed";
  if (!sameHex(await hmacHex(secret, `${t}.${body}`), v1)) return "mismatch";
  return Math.abs(nowSeconds - t) > toleranceSeconds ? "expired" : "ok";
}
