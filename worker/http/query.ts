import { zValidator } from "@hono/zod-validator";
import { z, type ZodType } from "zod";
import { AppError, formatZodError } from "../errors/app-error.ts";

/** Query-string validation with zod; failures become `invalid_request` with `path: message`. */
export function queryParams<T extends ZodType>(schema: T) {
  return zValidator("query", schema, (result) => {
    if (!result.success) throw new AppError("invalid_request", formatZodError(result.error, "query"));
  });
}

/** A time in a query string: milliseconds since the epoch, or an ISO 8601 date/time. */
export const timeParam = z
  .string()
  .transform((s, ctx) => {
    const ms = /^\d{1,15}$/.test(s) ? Number(s) : Date.parse(s);
    if (!Number.isFinite(ms)) {
      ctx.addIssue({ code: "custom", message: "expected milliseconds since the epoch or an ISO 8601 date" });
      return z.NEVER;
    }
    return ms;
  });

/** A bounded positive integer in a query string. */
export const intParam = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
