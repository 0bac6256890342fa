/**
 * The console's one way to the admin API: same-origin `fetch` with the session cookie (sent by
 * the browser, HttpOnly: no script reads it) and, on state changes, the session's CSRF token,
 * kept in this module's memory only (never in storage or URLs). Every page goes through `api()`,
 * so nothing in the console is a second implementation of a route.
 */

/** The API's one error shape, `{ error: { code, message } }`, as thrown by `api()`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
  /** `path: message` lines of a validation error (the API joins them with "; "). */
  get lines(): string[] {
    return this.message.split(/;\s+/).filter(Boolean);
  }
}

let csrf: string | null = null;
/** Called when an answer says the session is gone (the shell shows the sign-in form). */
let onSignedOut: () => void = () => {};

/** Sets the CSRF token of the current session (null: signed out). */
export function setCsrf(token: string | null): void {
  csrf = token;
}
/** Registers what to do when the API answers 401 (session expired or revoked). */
export function whenSignedOut(handler: () => void): void {
  onSignedOut = handler;
}

export interface ApiInit {
  method?: string;
  /** Sent as JSON. */
  json?: unknown;
  /** Sent as is (a File for uploads, NDJSON text, …). */
  body?: BodyInit;
  headers?: Record<string, string>;
}

/** The raw answer of a route (for bodies that are not JSON: CSV, NDJSON, HTML). Throws ApiError. */
export async function apiResponse(path: string, init: ApiInit = {}, fetchImpl: typeof fetch = fetch): Promise<Response> {
  const method = init.method ?? (init.json !== undefined || init.body !== undefined ? "POST" : "GET");
  const headers: Record<string, string> = { ...init.headers };
  if (init.json !== undefined) headers["content-type"] = "application/json";
  if (method !== "GET" && method !== "HEAD" && csrf) headers["x-csrf-token"] = csrf;
  const response = await fetchImpl(path, {
    method,
    headers,
    credentials: "same-origin",
    body: init.json !== undefined ? JSON.stringify(init.json) : init.body,
  });
  if (!response.ok) {
    const body = (await response.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null;
    const error = new ApiError(response.status, body?.error?.code ?? "http_error", body?.error?.message ?? `${response.status} ${response.statusText}`);
    if (response.status === 401 && !path.startsWith("/console/session")) onSignedOut();
    // The session changed under this page (signed out, or in as someone else, in another tab):
    // its CSRF token is stale. Sign in again rather than act under a name the page does not show.
    if (response.status === 403 && /X-CSRF-Token/.test(error.message)) onSignedOut();
    throw error;
  }
  return response;
}

/** A route's JSON answer (undefined for 204). Throws ApiError with the API's code and message. */
export async function api<T = unknown>(path: string, init: ApiInit = {}, fetchImpl: typeof fetch = fetch): Promise<T> {
  const response = await apiResponse(path, init, fetchImpl);
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}
