/**
 * `POST /admin/profiles`: bulk profile upload for CRM syncs, NDJSON (one JSON object a line):
 *   {"customerId": "c-1", "traits": {"plan": "pro"}, "accountId": "acme"}
 *   {"accountId": "acme", "accountTraits": {"tier": "enterprise", "employees": 1200}}
 * Traits merge over the stored ones, so uploading a file again changes nothing (idempotent). Each
 * line is validated on its own: good lines are applied, bad ones listed with their 1-based line
 * number and the error (the answer is 200 with both). A valid line whose write fails (its Durable
 * Object unavailable) is listed too, as `not_stored`, so the caller knows which lines to send again;
 * the others are still applied.
 */
import { Hono } from "hono";
import { z } from "zod";
import { AppError, formatZodError } from "../errors/app-error.ts";
import { limitBody } from "../http/json-body.ts";
import type { AppEnv } from "../services.ts";
import { applyAccountTraits, applyIdentification } from "./identify.ts";
import type { IdentityEnv } from "./keys.ts";
import { accountIdSchema, accountTraitsSchema, customerIdSchema, profileTraitsSchema } from "./schema.ts";

export const PROFILES_MAX_BYTES = 1024 * 1024;
/**
 * Lines per request (blank lines not counted). Each line is one or two Durable Object calls made
 * in order (so two lines of one customer apply in file order): 500 keeps a request's calls near
 * a Worker's subrequest limit and its time in seconds — locally 1,000 lines with account traits
 * took 16–19 s, and 5,000 ran the runtime out of memory (SQLITE_NOMEM). A CRM sync sends chunks.
 */
export const PROFILES_MAX_LINES = 500;

const customerLine = z
  .object({ customerId: customerIdSchema, traits: profileTraitsSchema.optional(), accountId: accountIdSchema.optional(), accountTraits: accountTraitsSchema.optional() })
  .strict()
  .refine((l) => l.accountTraits === undefined || l.accountId !== undefined, { path: ["accountTraits"], message: "needs the accountId they belong to" });
const accountLine = z.object({ accountId: accountIdSchema, accountTraits: accountTraitsSchema }).strict();
/** A line with `customerId` is a customer's; any other an account's (so errors name the field, not "Invalid input"). */
const lineSchema = (value: unknown) => (value !== null && typeof value === "object" && Object.hasOwn(value, "customerId") ? customerLine : accountLine);

interface LineError {
  line: number;
  error: { code: "invalid_json" | "invalid_request" | "not_stored"; message: string };
}

export const profilesRoute = new Hono<AppEnv>().post("/", limitBody(PROFILES_MAX_BYTES), async (c) => {
  const type = c.req.header("content-type") ?? "";
  if (!/^application\/(x-)?ndjson\b|^application\/jsonl\b/i.test(type)) throw new AppError("unsupported_media_type", "content-type: application/x-ndjson (one JSON object a line)");
  const lines = (await c.req.text()).split("\n");
  // Blank lines (a final newline, separators) are skipped below, so they do not count here either.
  const nonBlank = lines.filter((l) => l.trim()).length;
  if (nonBlank > PROFILES_MAX_LINES) throw new AppError("payload_too_large", `at most ${PROFILES_MAX_LINES} lines`);
  const env = c.env as Env & IdentityEnv;
  const now = c.get("services").now();
  const rejected: LineError[] = [];
  let customers = 0;
  let accounts = 0;
  for (const [i, text] of lines.entries()) {
    if (!text.trim()) continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      rejected.push({ line: i + 1, error: { code: "invalid_json", message: "not a JSON value" } });
      continue;
    }
    const parsed = lineSchema(value).safeParse(value);
    if (!parsed.success) {
      rejected.push({ line: i + 1, error: { code: "invalid_request", message: formatZodError(parsed.error, "line") } });
      continue;
    }
    const line = parsed.data;
    try {
      if ("customerId" in line) {
        await applyIdentification(env, line, now);
        customers++;
        // Account traits sent with a customer update that account too.
        if (line.accountTraits) accounts++;
      } else {
        await applyAccountTraits(env, line.accountId, line.accountTraits);
        accounts++;
      }
    } catch (err) {
      console.error(`profiles: line ${i + 1} not stored:`, err instanceof Error ? err.message : err);
      rejected.push({ line: i + 1, error: { code: "not_stored", message: "the profile store failed for this line; send it again (lines are idempotent)" } });
    }
  }
  const accepted = nonBlank - rejected.length;
  return c.json({ accepted, customers, accounts, rejected }, 200, { "cache-control": "no-store" });
});
