/**
 * Pseudonymous visitor key: what the audit log, events and the visitor's Durable Object are
 * keyed by, so raw visitor ids are not stored. Versioned, like every hash in the decision path.
 */
export const VISITOR_KEY_VERSION = "vk1";

/** SHA-256 of `vk1:<visitorId>`, first 32 hex digits. */
export async function visitorKey(visitorId: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`${VISITOR_KEY_VERSION}:${visitorId}`));
  return [...new Uint8Array(digest).subarray(0, 16)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
