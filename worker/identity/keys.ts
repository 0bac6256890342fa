/**
 * Keyed customer and account ids. A customer id (an e-mail, a CRM id) is never stored: what the
 * Durable Objects and logs know is HMAC-SHA256(IDENTITY_SECRET, "ck1:" + id), so without the
 * Worker secret a stored key cannot be tested against a guessed id (a plain hash could).
 * Versioned like every hash in the decision path.
 */
import { AppError } from "../errors/app-error.ts";
import { hex } from "../crypto/hex.ts";

export const CUSTOMER_KEY_VERSION = "ck1";
export const ACCOUNT_KEY_VERSION = "ak1";

/** The identity settings: Worker secrets and a var (docs/API.md, "Identity"). */
export interface IdentityEnv {
  /** Key of the customer/account HMAC (a Worker secret). */
  IDENTITY_SECRET?: string;
  /** Shared secret of the site's backend for HS256 identify tokens (a Worker secret). */
  IDENTIFY_SECRET?: string;
  /** Public keys of the site's backend for RS256/ES256 identify tokens: a JWKS as JSON (a Worker secret or var). */
  IDENTIFY_JWKS?: string;
  /** "true" accepts identify calls without a token (trusting the page). Default "false". */
  IDENTIFY_UNSIGNED?: string;
}

const keys = new Map<string, Promise<CryptoKey>>();

function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    keys.set(secret, key);
  }
  return key;
}

async function keyed(secret: string | undefined, version: string, id: string): Promise<string> {
  if (!secret) throw new AppError("invalid_config", "identity is not configured: set the IDENTITY_SECRET Worker secret");
  const mac = await crypto.subtle.sign("HMAC", await hmacKey(secret), new TextEncoder().encode(`${version}:${id}`));
  return hex(mac, 16);
}

/** HMAC-SHA256 of `ck1:<customerId>`, first 32 hex digits. Throws invalid_config without the secret. */
export const customerKey = (env: IdentityEnv, customerId: string) => keyed(env.IDENTITY_SECRET, CUSTOMER_KEY_VERSION, customerId);
/** HMAC-SHA256 of `ak1:<accountId>`, first 32 hex digits. */
export const accountKey = (env: IdentityEnv, accountId: string) => keyed(env.IDENTITY_SECRET, ACCOUNT_KEY_VERSION, accountId);

/** Durable Object names: visitors are named by their visitor key, customers and accounts by prefix. */
export const customerObject = (key: string) => `customer:${key}`;
/** The customer key in a customer object's name; undefined for any other object (a visitor's, an account's). */
export const customerKeyOf = (name: string): string | undefined => (name.startsWith("customer:") ? name.slice("customer:".length) : undefined);
export const accountObject = (key: string) => `account:${key}`;
