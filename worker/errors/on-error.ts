import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { AppError, type ErrorCode } from "./app-error.ts";

/** The JSON body of every error answer. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string };
}

/** Serialises an AppError into the spec's error JSON. */
export function errorResponse(c: Context, err: AppError): Response {
  const body: ErrorBody = { error: { code: err.code, message: err.message } };
  return c.json(body, err.status, err.headers);
}

/** Maps anything thrown to the error shape; only unexpected faults become a 500. */
export function onError(err: Error, c: Context): Response {
  if (err instanceof AppError) return errorResponse(c, err);
  if (err instanceof HTTPException) {
    // Hono's own validator and body parsing throw these for malformed bodies.
    const code: ErrorCode =
      err.status === 413 ? "payload_too_large" : err.status === 401 ? "unauthorized" : "invalid_json";
    return errorResponse(c, new AppError(code, err.message || "bad request"));
  }
  console.error("unhandled error", err);
  return errorResponse(c, new AppError("internal", "internal error"));
}

/** 404 for unknown routes, in the same shape. */
export function notFound(c: Context): Response {
  return errorResponse(c, new AppError("not_found", `no route for ${c.req.method} ${c.req.path}`));
}
