/** Every error code the API can answer with, mapped to its HTTP status. */
export const ERROR_STATUS = {
  invalid_json: 400,
  invalid_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  precondition_failed: 412,
  payload_too_large: 413,
  unsupported_media_type: 415,
  unknown_slot: 422,
  unprocessable_model: 422,
  missing_propensity: 422,
  insufficient_data: 422,
  invalid_config: 422,
  invalid_catalog: 422,
  unknown_kpi: 422,
  rate_limited: 429,
  internal: 500,
  /** Proxy mode: the origin could not be reached or broke off before its headers. */
  bad_gateway: 502,
  /** Proxy mode: the origin sent no response headers within PROXY_ORIGIN_TIMEOUT_MS. */
  gateway_timeout: 504,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** The one error type of the API; `onError` turns it into `{ error: { code, message } }`. */
export class AppError extends Error {
  readonly code: ErrorCode;
  /** Headers the answer carries (e.g. `Retry-After` on a 429). */
  readonly headers?: Record<string, string>;
  constructor(code: ErrorCode, message: string, headers?: Record<string, string>) {
    super(message);
    this.name = "AppError";
    this.code = code;
    if (headers) this.headers = headers;
  }
  get status(): (typeof ERROR_STATUS)[ErrorCode] {
    return ERROR_STATUS[this.code];
  }
}

/** Formats zod issues as `path: message`, joined by "; " (the path of the root is "body"). */
export function formatZodError(
  error: { issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }> },
  root = "body",
): string {
  return error.issues
    .slice(0, 10)
    .map((issue) => {
      const path = issue.path.length ? issue.path.map(String).join(".") : root;
      return `${path}: ${issue.message}`;
    })
    .join("; ");
}
