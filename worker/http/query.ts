import { zValidator } from "@hono/zod-validator";
import { z, type ZodType } from "zod";
import { AppError, formatZodError } from "../errors/app-error.ts";

/** Query-string validation with zod; failures become `invalid_request` with `path: message`. */
export function queryParams<T extends ZodType>(schema: T) {
  return zValidator("query", schema, (result) => {
    if (!result.success) throw new AppError("invalid_request", formatZodError(result.error, "query"));
  });
}

/**
 * Milliseconds since the epoch of a query string's time: digits (ms), or an ISO 8601 date or
 * date-time (ISO_TIME). A calendar date that does not exist (2026-02-30, 2026-04-31) is refused rather than
 * rolled over to the next month, as `Date.parse` would, and so is a time before 1970 or after the
 * year 9999. Undefined when it is not such a time.
 */
export function parseTimeText(s: string): number | undefined {
  const ms = parseAnyTime(s);
  // Days are written 'YYYY-MM-DD' everywhere (aggregates, drift, reports): a time after the year
  // 9999 has no such day.
  return ms !== undefined && ms >= 0 && ms <= LATEST_TIME_MS ? ms : undefined;
}

/** The last millisecond with a four-digit year: 9999-12-31T23:59:59.999Z. */
export const LATEST_TIME_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/**
 * ISO 8601 as the API takes it: a date, or a date and time (minutes, seconds and fractions
 * optional) with `Z`, an offset, or neither (the Worker's time zone, UTC). Other text `Date.parse`
 * would read ("Feb 30 2026", "2026/02/30") is refused: it rolls impossible days over.
 */
const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

function parseAnyTime(s: string): number | undefined {
  if (/^\d{1,15}$/.test(s)) return Number(s);
  const date = ISO_TIME.exec(s);
  if (!date) return undefined;
  const [y, m, d] = [Number(date[1]), Number(date[2]), Number(date[3])];
  const day = new Date(Date.UTC(y, m - 1, d));
  if (day.getUTCFullYear() !== y || day.getUTCMonth() !== m - 1 || day.getUTCDate() !== d) return undefined;
  const ms = Date.parse(s);
  return Number.isFinite(ms) ? ms : undefined;
}

/** A time in a query string: milliseconds since the epoch, or an ISO 8601 date/time. */
export const timeParam = z
  .string()
  .transform((s, ctx) => {
    const ms = parseTimeText(s);
    if (ms === undefined) {
      ctx.addIssue({ code: "custom", message: "expected milliseconds since the epoch or an ISO 8601 date, 1970 to 9999" });
      return z.NEVER;
    }
    return ms;
  });

/** A bounded positive integer in a query string. */
export const intParam = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
