/**
 * One delivery attempt of a scheduled action to its channel's webhook: the signed JSON body, the
 * idempotency key, and how the answer is classified (sent, retry later, or failed for good).
 */
import { ATTEMPT_HEADER, IDEMPOTENCY_HEADER, SIGNATURE_HEADER, signatureHeader } from "./signature.ts";
import type { ScheduledAction } from "./types.ts";

/** What sends a request (global `fetch` in production; tests hand the Outbox a receiver). */
export type Transport = (request: Request) => Promise<Response>;

/** The webhook body: the same bytes on every attempt (receivers dedupe on the idempotency key). */
export interface WebhookBody {
  /** Also the `Idempotency-Key` header. */
  decisionId: string;
  /** HMAC key of the customer (worker/identity/keys.ts); never the raw customer id. */
  customerKey: string;
  channel: string;
  actionId: string;
  contentRef: string;
  /** ISO 8601 (UTC) of the scheduled send time. */
  sendAt: string;
  moment: string | null;
}

/** The body of an action's webhook, serialised once. */
export function webhookBody(a: ScheduledAction): string {
  const body: WebhookBody = {
    decisionId: a.decisionId, customerKey: a.customerKey, channel: a.channel, actionId: a.actionId,
    contentRef: a.contentRef, sendAt: new Date(a.sendAt).toISOString(), moment: a.moment ?? null,
  };
  return JSON.stringify(body);
}

/** How an attempt ended: HTTP status (0 = no answer), and what to do next. */
export interface AttemptResult {
  status: number;
  kind: "sent" | "retry" | "failed";
  error: string | null;
}

/**
 * Retryable: no answer (network error, timeout), 408, 425, 429 and every 5xx — the receiver may
 * accept later. Any other answer below 200 or from 300 up is final (a 3xx is not followed: the
 * configured URL is the only place a signed body goes).
 */
export function classify(status: number): AttemptResult["kind"] {
  if (status >= 200 && status < 300) return "sent";
  if (status === 0 || status === 408 || status === 425 || status === 429 || status >= 500) return "retry";
  return "failed";
}

/** Sends one attempt. Never throws: a network error or timeout is status 0. */
export async function attemptDelivery(
  transport: Transport,
  target: { url: string; secret: string; timeoutMs: number },
  action: ScheduledAction,
  attempt: number,
  nowMs: number,
): Promise<AttemptResult> {
  const body = webhookBody(action);
  const headers = {
    "content-type": "application/json",
    "user-agent": "nextbest-activation/1",
    [SIGNATURE_HEADER]: await signatureHeader(target.secret, Math.floor(nowMs / 1000), body),
    [IDEMPOTENCY_HEADER]: action.decisionId,
    [ATTEMPT_HEADER]: String(attempt),
  };
  try {
    const res = await transport(new Request(target.url, { method: "POST", headers, body, redirect: "manual", signal: AbortSignal.timeout(target.timeoutMs) }));
    // The body is not needed; cancel it so the connection is freed.
    await res.body?.cancel().catch(() => undefined);
    const kind = classify(res.status);
    return { status: res.status, kind, error: kind === "sent" ? null : `HTTP ${res.status}` };
  } catch (err) {
    return { status: 0, kind: "retry", error: (err instanceof Error ? `${err.name}: ${err.message}` : String(err)).slice(0, 300) };
  }
}

/** Wait before attempt `attempt + 1` after attempt `attempt` failed: base · 2^(attempt−1), ms (capped at a day). */
export const backoffMs = (baseMs: number, attempt: number) => Math.min(86_400_000, baseMs * 2 ** (attempt - 1));
