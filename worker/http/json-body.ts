import { zValidator } from "@hono/zod-validator";
import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { z, ZodType } from "zod";
import { AppError, formatZodError, type ErrorCode } from "../errors/app-error.ts";

const JSON_TYPE = /^application\/([\w.-]+\+)?json$/i;

/** Refuses bodies that are not declared as JSON (415) before anything reads them. */
export function requireJson(): MiddlewareHandler {
  return async (c, next) => {
    const type = (c.req.header("content-type") ?? "").split(";")[0]!.trim();
    if (!JSON_TYPE.test(type)) {
      throw new AppError("unsupported_media_type", "content-type must be application/json");
    }
    await next();
  };
}

/**
 * JSON, or `text/plain`: what `navigator.sendBeacon(url, string)` sends, and what a cross-origin
 * `fetch` can send without a CORS preflight (a keepalive request on page hide cannot wait for one).
 */
export function requireJsonOrText(): MiddlewareHandler {
  return async (c, next) => {
    const type = (c.req.header("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
    if (!JSON_TYPE.test(type) && type !== "text/plain") {
      throw new AppError("unsupported_media_type", "content-type must be application/json or text/plain");
    }
    await next();
  };
}

/** Parses a body as JSON whatever its declared type (see requireJsonOrText) and validates it. */
export async function parseJsonText<T extends ZodType>(text: string, schema: T): Promise<z.infer<T>> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new AppError("invalid_json", "body is not valid JSON");
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new AppError("invalid_request", formatZodError(parsed.error));
  return parsed.data;
}

/** Caps the body size; larger bodies get 413 without being buffered whole. */
export function limitBody(maxBytes: number): MiddlewareHandler {
  return bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new AppError("payload_too_large", `body exceeds ${maxBytes} bytes`);
    },
  });
}

/**
 * JSON body validation with zod through Hono's validator; failures become `invalid_request`
 * with `path: message` details. Malformed JSON is reported by Hono as an HTTPException and
 * mapped to `invalid_json` by `onError`.
 */
export function jsonBody<T extends ZodType>(schema: T, code: ErrorCode = "invalid_request") {
  return zValidator("json", schema, (result) => {
    if (!result.success) throw new AppError(code, formatZodError(result.error));
  });
}
