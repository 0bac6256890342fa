import { lastGood } from "../config-health/last-good.ts";
import { formatZodError } from "../errors/app-error.ts";
import demoCatalog from "./demo-catalog.json";
import { catalogSchema, type Catalog } from "./schema.ts";
import { withSanitizedHtml } from "../sanitize/catalog.ts";

/** Where the catalog is read from. */
export interface CatalogStore {
  get(): Promise<Catalog>;
}

/** KV key of the catalog document. */
export const CATALOG_KEY = "catalog";
const CACHE_MS = 10_000;

/** The catalog shipped in the repository (worker/catalog/demo-catalog.json), validated. */
export const DEMO_CATALOG: Catalog = withSanitizedHtml(catalogSchema.parse(demoCatalog));

/**
 * This isolate's catalog: a stored catalog that does not validate (e.g. a block without `html`)
 * is never served; the last one that validated is (else the demo catalog), and the error is
 * reported by `GET /admin/config/health`. Block HTML is served sanitised (worker/sanitize/), once
 * per isolate and HTML.
 */
const catalogCache = lastGood<Catalog>({
  source: "catalog",
  validate(raw) {
    const parsed = catalogSchema.safeParse(raw);
    return parsed.success ? { ok: true, value: withSanitizedHtml(parsed.data) } : { ok: false, message: formatZodError(parsed.error, "catalog") };
  },
  builtIn: () => DEMO_CATALOG,
  version: (catalog) => catalog.version,
  ttlMs: CACHE_MS,
});

/**
 * Reads the catalog from KV, seeding it from the demo catalog in the repo on first use.
 * Cached per isolate for 10 s: KV is read-mostly and the decide path must stay fast. Never
 * rejects: an unreadable or invalid stored catalog leaves the last valid one in service.
 */
export function kvCatalogStore(kv: KVNamespace, now: () => number = Date.now): CatalogStore {
  return {
    get() {
      return catalogCache.get(async () => {
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
