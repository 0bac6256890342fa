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

/**
 * How much of an oversized streamed body is read and discarded before the stream is cancelled:
 * enough for what a browser or SDK sends by mistake, little enough that a sender who stalls or
 * streams on gets its 413 soon and costs little CPU (draining costs a few ms per MB).
 */
export interface DrainLimits {
  bytes: number;
  ms: number;
}
const DRAIN: DrainLimits = { bytes: 4 * 1024 * 1024, ms: 2_000 };

/**
 * Caps the body size; larger bodies get 413 without being buffered whole. A body without a
 * length (chunked) is counted as it is read; when it is too large, what the client is still
 * sending is read and discarded (up to `drain`), then the stream is cancelled. Why: Hono's limiter
 * stops reading at the limit, and under `wrangler dev` a request body left partly read — or
 * cancelled — broke the dev proxy's connection, so the next POST there, any client's, got a 503
 * ("Your worker restarted mid-request"). A body never read (a 415, 401 or 404, or a 413 from its
 * declared length) does not; nor one read to its end. Beyond `drain` the stream is cancelled, and
 * under `wrangler dev` the next POST may still meet that 503 (a local artefact).
 */
export function limitBody(maxBytes: number, drain: DrainLimits = DRAIN): MiddlewareHandler {
  const limit = bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new AppError("payload_too_large", `body exceeds ${maxBytes} bytes`);
    },
  });
  return async (c, next) => {
    const body = c.req.raw.body;
    if (!body || (c.req.raw.headers.has("content-length") && !c.req.raw.headers.has("transfer-encoding"))) return limit(c, next);
    // Hono's limiter reads through this stream, so the rest stays ours to drain.
    const reader = body.getReader();
    const counted = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const { done, value } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      },
    }, { highWaterMark: 0 }); // pulled only when read: no read of ours pending when draining
    c.req.raw = new Request(c.req.raw, { body: counted, duplex: "half" } as RequestInit);
    try {
      return await limit(c, next);
    } catch (err) {
      if (err instanceof AppError && err.code === "payload_too_large") await drainBody(reader, drain);
      throw err;
    }
  };
}

/** Reads and discards up to `limits.bytes` for at most `limits.ms`, then cancels what is left. */
async function drainBody(reader: ReadableStreamDefaultReader<Uint8Array>, limits: DrainLimits): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<"expired">((resolve) => (timer = setTimeout(() => resolve("expired"), limits.ms)));
  try {
    for (let read = 0; read <= limits.bytes; ) {
      const next = await Promise.race([reader.read(), expired]);
      if (next === "expired") break;
      if (next.done) return;
      read += next.value.byteLength;
    }
    await reader.cancel();
  } catch {
    // the client went away: nothing left to drain
  } finally {
    clearTimeout(timer);
  }
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
