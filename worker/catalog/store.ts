import { lastGood, type LastGood } from "../config-health/last-good.ts";
import { formatZodError } from "../errors/app-error.ts";
import demoCatalog from "./demo-catalog.json";
import { catalogSchema, type Catalog } from "./schema.ts";
import { servingCatalog } from "./serving.ts";
import { withSanitizedHtml } from "../sanitize/catalog.ts";

/** Where the catalog is read from. */
export interface CatalogStore {
  get(): Promise<Catalog>;
}

/** KV key of the catalog document. */
export const CATALOG_KEY = "catalog";
/**
 * How long an isolate trusts its copy before reading KV again: a catalog published by the admin
 * API (worker/catalog-admin/) serves everywhere within this time, without a restart.
 */
export const CATALOG_TTL_MS = 4_000;

/** The catalog shipped in the repository (worker/catalog/demo-catalog.json), validated. */
export const DEMO_CATALOG: Catalog = withSanitizedHtml(catalogSchema.parse(demoCatalog));

/**
 * Validates a stored catalog and keeps its serving view (serving.ts): drafts and archived blocks
 * are dropped here, once per read, and the view must still give every slot a default. Block HTML
 * is served sanitised (worker/sanitize/), once per isolate and HTML.
 */
function validateStored(raw: unknown): { ok: true; value: Catalog } | { ok: false; message: string } {
  const parsed = catalogSchema.safeParse(raw);
  if (!parsed.success) return { ok: false, message: formatZodError(parsed.error, "catalog") };
  const serving = catalogSchema.safeParse(servingCatalog(parsed.data));
  return serving.success ? { ok: true, value: withSanitizedHtml(serving.data) } : { ok: false, message: formatZodError(serving.error, "catalog") };
}

/**
 * A per-isolate cache of the serving catalog: a stored catalog that does not validate (e.g. a
 * block without `html`) is never served; the last one that validated is (else the demo catalog),
 * and the error is reported by `GET /admin/config/health`. Tests make their own to play a second
 * isolate (with its own clock).
 */
export function catalogCacheOf(ttlMs: number = CATALOG_TTL_MS): LastGood<Catalog> {
  return lastGood<Catalog>({ source: "catalog", validate: validateStored, builtIn: () => DEMO_CATALOG, version: (catalog) => catalog.version, ttlMs });
}

/** This isolate's catalog cache. */
export const catalogCache = catalogCacheOf();

/**
 * Reads the serving catalog from KV, seeding it from the demo catalog in the repo on first use.
 * Cached per isolate for CATALOG_TTL_MS: KV is read-mostly and the decide path must stay fast.
 * Never rejects: an unreadable or invalid stored catalog leaves the last valid one in service.
 */
export function kvCatalogStore(kv: KVNamespace, now: () => number = Date.now, cache: LastGood<Catalog> = catalogCache): CatalogStore {
  return {
    get() {
      return cache.get(async () => {
        const raw = await kv.get(CATALOG_KEY, "json");
        if (raw !== null) return raw;
        await kv.put(CATALOG_KEY, JSON.stringify(demoCatalog));
        return demoCatalog;
      }, now());
    },
  };
}

/** A fixed catalog, for unit tests. */
export function staticCatalogStore(catalog: Catalog = DEMO_CATALOG): CatalogStore {
  return { get: async () => catalog };
}
