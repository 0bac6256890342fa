import { Hono } from "hono";
import { z } from "zod";
import { AppError, formatZodError } from "../errors/app-error.ts";
import { jsonBody, limitBody, requireJson } from "../http/json-body.ts";
import type { AppEnv } from "../services.ts";
import { d1CatalogVersionStore } from "../catalog-admin/store.ts";
import { withSanitizedHtml } from "../sanitize/catalog.ts";
import { withMappedBlockLinks } from "../proxy/page-links.ts";
import { previewDecision, type PreviewAnswer } from "./preview.ts";

/** The newest catalog version with its drafts (the catalog admin's store), block HTML sanitised. */
const draftsOf = (env: Env) => async () => withSanitizedHtml((await d1CatalogVersionStore(env.DB, env.CONFIG).latest()).catalog);
import { previewRequestSchema } from "./schema.ts";
import { PREVIEW_LINK_DEFAULT_SECONDS, PREVIEW_LINK_MAX_SECONDS, PREVIEW_TOKEN_MAX_CHARS, signPreview, verifyPreview } from "./token.ts";

/** Largest preview body (a described visitor with a history of 500 exposures fits). */
export const PREVIEW_MAX_BYTES = 64 * 1024;

const slotName = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/);

const linkSchema = previewRequestSchema.extend({
  /** How long the link works, seconds (default 1 hour, at most 7 days). */
  ttlSeconds: z.number().int().min(60).max(PREVIEW_LINK_MAX_SECONDS).default(PREVIEW_LINK_DEFAULT_SECONDS),
  /** Path of the page the link opens (on this Worker's origin), default `/`. */
  page: z.string().regex(/^\/[^?#\s]{0,512}$/, "a path starting with /").default("/"),
});

/** `POST /v1/preview` body: a preview link's token; the page may name its slots and URL. */
const publicSchema = z.object({
  token: z.string().min(1).max(PREVIEW_TOKEN_MAX_CHARS),
  /** The slots on the page, used when the link names none of its own. */
  slots: z.array(slotName).min(1).max(10).optional(),
  /** The page's URL, used when the link has none (URL rules). */
  url: z.string().max(2048).optional(),
});

/**
 * A preview answers what decide would for the page `pageUrl`: its blocks' links mapped on a page
 * behind the proxy (page-links.ts), in `decisions` and in each slot's `decision` alike.
 */
function mappedPreview(answer: PreviewAnswer, env: Env, requestUrl: string, pageUrl: string | undefined): PreviewAnswer {
  const decisions = withMappedBlockLinks(answer.decisions, env as unknown as Record<string, string>, requestUrl, pageUrl);
  if (decisions === answer.decisions) return answer;
  const bySlot = new Map(decisions.map((d) => [d.slot, d]));
  return { ...answer, decisions, slots: answer.slots.map((s) => ({ ...s, decision: bySlot.get(s.slot) ?? s.decision })) };
}

/**
 * `/admin/preview` (bearer token): `POST /` answers a preview; `POST /links` signs a short-lived
 * preview link for the demo shop (`/?nb_preview=<token>`).
 */
export const previewAdminRoute = new Hono<AppEnv>()
  .post("/", requireJson(), limitBody(PREVIEW_MAX_BYTES), jsonBody(previewRequestSchema), async (c) => {
    const request = c.req.valid("json");
    const answer = await previewDecision(request, c.get("services"), draftsOf(c.env));
    return c.json(mappedPreview(answer, c.env, c.req.url, request.context?.url), 200, { "cache-control": "no-store" });
  })
  .post("/links", requireJson(), limitBody(PREVIEW_MAX_BYTES), jsonBody(linkSchema), async (c) => {
    const { ttlSeconds, page, ...req } = c.req.valid("json");
    // Check it decides now (unknown slots are a 422 here, not on the shop page).
    await previewDecision(req, c.get("services"), draftsOf(c.env));
    const expires = c.get("services").now() + ttlSeconds * 1000;
    const token = await signPreview(req, expires, c.env.ADMIN_TOKEN);
    const url = new URL(page, c.req.url);
    url.searchParams.set("nb_preview", token);
    return c.json({ token, url: url.href, expiresAt: new Date(expires).toISOString() }, 201, { "cache-control": "no-store" });
  });

/**
 * `POST /v1/preview` (public): the preview a valid, unexpired link token describes. 401 for any
 * other token. Records nothing, like the admin route.
 */
export const previewPublicRoute = new Hono<AppEnv>().post("/", requireJson(), limitBody(16 * 1024), jsonBody(publicSchema), async (c) => {
  const body = c.req.valid("json");
  const services = c.get("services");
  const raw = await verifyPreview(body.token, c.env.ADMIN_TOKEN, services.now());
  const base = typeof raw === "object" && raw !== null ? (raw as Record<string, unknown>) : {};
  const context = typeof base.context === "object" && base.context !== null ? (base.context as Record<string, unknown>) : {};
  const merged = {
    ...base,
    slots: base.slots ?? body.slots,
    context: { ...context, ...(context.url === undefined && body.url !== undefined ? { url: body.url } : {}) },
  };
  const parsed = previewRequestSchema.safeParse(merged);
  if (!parsed.success) throw new AppError("invalid_request", formatZodError(parsed.error));
  const answer = await previewDecision(parsed.data, services, draftsOf(c.env));
  // Links are mapped for the page the blocks are shown on (the body's URL, nb-extras sends its
  // own), not the one the link describes: the two can differ (a link's `page` and `context.url`).
  return c.json(mappedPreview(answer, c.env, c.req.url, body.url ?? parsed.data.context?.url), 200, { "cache-control": "no-store" });
});
