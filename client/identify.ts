// nextbest.identify (an optional part, loaded with nb-extras.js: see extras.ts): tells the Worker
// who the visitor is once they log in. By default the Worker only trusts a token signed by the
// site's backend (docs/API.md, "Identity"); the customer id, traits and account then come from
// the token. Only with personalization consent: without it nothing is sent.
import type { Consent } from "./types.ts";

/** What identify takes besides the customer id. */
export interface IdentifyOptions {
  /** HS256 token from the site's backend (required unless the Worker sets IDENTIFY_UNSIGNED). */
  token?: string;
  /** Profile traits (unsigned mode only; with a token they are its claims). */
  traits?: Record<string, unknown>;
  accountId?: string;
}

/** The Worker's answer: linked, or why not. */
export interface IdentifyAnswer {
  linked: boolean;
  reason?: string;
  customerKey?: string;
  error?: { code: string; message: string };
}

/**
 * Sends `POST /v1/identify` for the page's visitor (`who`: the consent in force and the visitor
 * id). Resolves with the Worker's answer (`{ linked: false, reason: "no_consent" }` without
 * personalization consent, sending nothing); rejects only when the network fails.
 */
export async function identify(
  endpoint: string,
  who: () => Promise<[Consent, string]>,
  fetchImpl: typeof fetch,
  customerId: string | undefined,
  { token, traits, accountId }: IdentifyOptions = {},
): Promise<IdentifyAnswer> {
  const [consent, visitorId] = await who();
  if (!consent.personalization) return { linked: false, reason: "no_consent" };
  const res = await fetchImpl(`${endpoint}/v1/identify`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ visitorId, consent: { personalization: true }, customerId, token, traits, accountId }),
  });
  return (await res.json()) as IdentifyAnswer;
}
