/**
 * `/console/session` (issue 19): the console's sign-in.
 * - `POST {token, name}`: the admin token (checked, never kept) and the name changes will be
 *   recorded under → 200 `{actor, expiresAt, csrf}` with the session cookie; 401 for a wrong
 *   token. Behind Cloudflare Access, `POST {}` with a valid Access token signs in as its email.
 * - `GET`: the current session (`{actor, expiresAt, csrf}`; the page keeps `csrf` in memory), a
 *   new one for a valid Access token, else 401.
 * - `DELETE` (with `X-CSRF-Token`): signs out — this session, everywhere: its cookie is refused
 *   from then on, also where it was copied (worker/console/session.ts `signOut`).
 * The admin routes themselves accept the cookie (worker/admin/auth.ts).
 */
import { actorName } from "../admin/actor.ts";
import { Hono } from "hono";
import { z } from "zod";
import { hasAdminToken } from "../admin/auth.ts";
import { AppError } from "../errors/app-error.ts";
import { jsonBody, limitBody, requireJson } from "../http/json-body.ts";
import { accessIdentity } from "./access.ts";
import { activeSession, issueSession, sameSecret, sessionCookieHeader, sessionCookieOf, signOut, type ConsoleSession } from "./session.ts";


const signIn = z.object({ token: z.string().max(512).optional(), name: actorName.optional() }).strict();

const answer = (session: ConsoleSession) => ({ actor: session.actor, expiresAt: session.expiresAt, csrf: session.csrf });
const NO_STORE = { "cache-control": "no-store" };

/** The console's sign-in routes; `now` is injectable for tests. */
export function consoleSessionRoute(now: () => number = Date.now) {
  return new Hono<{ Bindings: Env }>()
    .post("/", requireJson(), limitBody(2048), jsonBody(signIn), async (c) => {
      const { token, name } = c.req.valid("json");
      let actor: string | null = null;
      if (token !== undefined) {
        if (!c.env.ADMIN_TOKEN || !hasAdminToken(`Bearer ${token}`, c.env.ADMIN_TOKEN)) throw new AppError("unauthorized", "that is not the admin token");
        if (!name) throw new AppError("invalid_request", "name: who is signing in (changes are recorded under it)");
        actor = name;
      } else {
        actor = await accessIdentity(c.env, c.req.header("cf-access-jwt-assertion"), now());
        if (!actor) throw new AppError("unauthorized", "sign in with the admin token (or through Cloudflare Access when it is configured)");
      }
      const { cookie, session } = await issueSession(c.env.ADMIN_TOKEN, actor, now());
      return c.json(answer(session), 200, { ...NO_STORE, "set-cookie": sessionCookieHeader(cookie, now(), session.expiresAt) });
    })
    .get("/", async (c) => {
      const session = await activeSession(c.env, sessionCookieOf(c.req.header("cookie")), now());
      if (session) return c.json(answer(session), 200, NO_STORE);
      const identity = c.env.ADMIN_TOKEN ? await accessIdentity(c.env, c.req.header("cf-access-jwt-assertion"), now()) : null;
      if (!identity) throw new AppError("unauthorized", "not signed in");
      const { cookie, session: fresh } = await issueSession(c.env.ADMIN_TOKEN, identity, now());
      return c.json(answer(fresh), 200, { ...NO_STORE, "set-cookie": sessionCookieHeader(cookie, now(), fresh.expiresAt) });
    })
    .delete("/", async (c) => {
      const session = await activeSession(c.env, sessionCookieOf(c.req.header("cookie")), now());
      if (session && !sameSecret(c.req.header("x-csrf-token") ?? "", session.csrf)) throw new AppError("forbidden", "signing out needs the session's X-CSRF-Token header");
      if (session) await signOut(c.env.DB, session, now());
      return c.body(null, 204, { ...NO_STORE, "set-cookie": sessionCookieHeader(null, now()) });
    });
}
