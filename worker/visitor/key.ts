/**
 * Pseudonymous visitor key: what the audit log, events and the visitor's Durable Object are
 * keyed by, so raw visitor ids are not stored. Versioned, like every hash in the decision path.
 */
import { hex } from "../crypto/hex.ts";
export const VISITOR_KEY_VERSION = "vk1";

/**
 * Keys computed by this isolate, by visitor id. A decide needs its visitor's key for the Durable
 * Object, the rate limit and the audit record, and an events batch one per event: a visitor's
 * requests mostly land on the same isolate, so each key is hashed once, not several times per
 * request. Memory only (never stored), bounded: emptied when full, so it holds at most
 * `KEY_MEMO_SIZE` ids of recent visitors.
 */
const memo = new Map<string, string>();
const KEY_MEMO_SIZE = 5_000;

/** SHA-256 of `vk1:<visitorId>`, first 32 hex digits. */
export async function visitorKey(visitorId: string): Promise<string> {
  const known = memo.get(visitorId);
  if (known !== undefined) return known;
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`${VISITOR_KEY_VERSION}:${visitorId}`));
  const key = hex(digest, 16);
  if (memo.size >= KEY_MEMO_SIZE) memo.clear();
  memo.set(visitorId, key);
  return key;
}
