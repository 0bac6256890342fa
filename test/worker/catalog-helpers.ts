import { env } from "cloudflare:workers";
import { CATALOG_KEY, DEMO_CATALOG } from "../../worker/catalog/store.ts";
import type { Block } from "../../worker/catalog/schema.ts";
import { expireConfigCaches } from "../../worker/config-health/last-good.ts";
import { call } from "./helpers.ts";

export const ADMIN = { authorization: "Bearer test-admin-token" };
const JSON_TYPE = { "content-type": "application/json" };

/** Sends a catalog admin request as `actor`. */
export const send = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}, actor = "ana") =>
  call(`/admin/catalog${path}`, {
    method,
    headers: { ...ADMIN, ...JSON_TYPE, "x-nextbest-actor": actor, ...headers },
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
  });
export const get = (path = "") => call(`/admin/catalog${path}`, { headers: ADMIN });

export interface Saved {
  version: number;
  author: string;
  action: string;
  target?: string;
  restoredFrom?: number;
  diff: Array<{ op: string; path: string; value?: unknown }>;
  block?: Block;
  removed?: Array<{ kind: string; detail?: string }>;
}
export interface ErrorBody {
  error: { code: string; message: string };
}

/** A new block for the hero slot (everything an admin sends). */
export const heroBlock = (id: string, extra: Partial<Block> = {}) => ({
  id,
  slots: ["hero"],
  category: "shoes",
  tags: ["promo"],
  campaign: "spring-shoes",
  priority: 2,
  value: 30,
  html: `<p>${id}</p>`,
  ...extra,
});

/** Back to the demo catalog with no admin history; every isolate cache re-reads. */
export async function resetCatalog() {
  await env.DB.prepare("DELETE FROM catalog_versions").run();
  await env.CONFIG.put(CATALOG_KEY, JSON.stringify(DEMO_CATALOG));
  expireConfigCaches();
}

/** The newest catalog as the admin API answers it. */
export const newest = async () => (await get()).json<{ version: number; catalog: { blocks: Block[]; slots: Record<string, { defaultBlock: string; archived?: boolean }> } }>();
