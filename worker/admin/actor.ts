/**
 * Who made an admin change: the `X-Nextbest-Actor` header (a label such as an e-mail address; the
 * console sets it from the signed-in name, worker/admin/auth.ts), else "admin". One rule for every
 * route that records an actor, so a label refused by one is refused by all (400 `invalid_request`,
 * before anything changes) rather than cut short by some and stored as sent by others.
 */
import { zValidator } from "@hono/zod-validator";
import type { Context } from "hono";
import { z } from "zod";
import { AppError, formatZodError } from "../errors/app-error.ts";

/** The characters an actor may have everywhere it is recorded: 1 to 64 of `[\w .@:+/-]`. */
export const actorName = z.string().trim().regex(/^[\w .@:+/-]{1,64}$/, "1 to 64 letters, digits, spaces or . @ : + / - _");

// A blank header counts as none (the default "admin"), as it always did on most routes.
const actorHeaders = z.object({ "x-nextbest-actor": z.preprocess((v) => (typeof v === "string" && v.trim() === "" ? undefined : v), actorName.optional()) });

/** Middleware: 400 `invalid_request` (`x-nextbest-actor: …`) for a label outside the rule. */
export const actorHeader = zValidator("header", actorHeaders, (result) => {
  if (!result.success) throw new AppError("invalid_request", formatZodError(result.error, "header"));
});

/**
 * The request's actor: the header's label, trimmed, or "admin" without one.
 * @throws AppError `invalid_request` (400) for a label outside {@link actorName}.
 */
export function actorOf(c: Context): string {
  const parsed = actorHeaders.safeParse({ "x-nextbest-actor": c.req.header("x-nextbest-actor") });
  if (!parsed.success) throw new AppError("invalid_request", formatZodError(parsed.error, "header"));
  return parsed.data["x-nextbest-actor"] || "admin";
}
