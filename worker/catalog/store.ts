import demoCatalog from "./demo-catalog.json";
import { catalogSchema, type Catalog } from "./schema.ts";

/** Where the catalog is read from. */
export interface CatalogStore {
  get(): Promise<Catalog>;
}

/** KV key of the catalog document. */
export const CATALOG_KEY = "catalog";
const CACHE_MS = 10_000;

let cached: { catalog: Catalog; at: number } | undefined;

/**
 * Reads the catalog from KV, seeding it from the demo catalog in the repo on first use.
 * Cached per isolate for 10 s: KV is read-mostly and the decide path must stay fast.
 */
export function kvCatalogStore(kv: KVNamespace, now: () => number = Date.now): CatalogStore {
  return {
    async get() {
      if (cached && now() - cached.at < CACHE_MS) return cached.catalog;
      let raw = await kv.get(CATALOG_KEY, "json");
      if (raw === null) {
        raw = demoCatalog;
        await kv.put(CATALOG_KEY, JSON.stringify(demoCatalog));
      }
      const catalog = catalogSchema.parse(raw);
      cached = { catalog, at: now() };
      return catalog;
    },
  };
}

/** A fixed catalog, for unit tests. */
export function staticCatalogStore(catalog: Catalog = catalogSchema.parse(demoCatalog)): CatalogStore {
  return { get: async () => catalog };
}
