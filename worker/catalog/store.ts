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
 * Reads the serving catalog, seeding KV from the demo catalog in the repo on first use. Cached per
 * isolate for CATALOG_TTL_MS: the decide path must stay fast. KV is the fast copy, but a write
 * can take up to a minute to reach other locations
 * (https://developers.cloudflare.com/kv/concepts/how-kv-works/), so when `db` is given the
 * catalog admin's newest version number is read from D1 (one small query per isolate per TTL)
 * and, when KV is behind it, that version is read from D1: a published change serves everywhere
 * within CATALOG_TTL_MS. Never rejects: an unreadable or invalid stored catalog leaves the last
 * valid one in service.
 */
export function kvCatalogStore(kv: KVNamespace, now: () => number = Date.now, cache: LastGood<Catalog> = catalogCache, db?: D1Database, keepAlive?: (work: Promise<unknown>) => void): CatalogStore {
  return {
    get() {
      return cache.get(async () => {
        const [raw, newest] = await Promise.all([kv.get<{ version?: unknown }>(CATALOG_KEY, "json"), db ? newestVersion(db) : null]);
        if (newest !== null && (raw === null || typeof raw.version !== "number" || raw.version < newest)) {
          const row = await db!.prepare("SELECT catalog FROM catalog_versions WHERE version = ?").bind(newest).first<{ catalog: string }>();
          if (row) return JSON.parse(row.catalog);
        }
        if (raw !== null) return raw;
        await kv.put(CATALOG_KEY, JSON.stringify(demoCatalog));
        return demoCatalog;
      }, now(), keepAlive);
    },
  };
}

/** The newest version the catalog admin saved (migrations/0008), or null before its first save or on error. */
async function newestVersion(db: D1Database): Promise<number | null> {
  try {
    return (await db.prepare("SELECT MAX(version) AS v FROM catalog_versions").first<number | null>("v")) ?? null;
  } catch {
    return null; // D1 unreachable: KV's copy serves
  }
}

/** A fixed catalog, for unit tests. */
export function staticCatalogStore(catalog: Catalog = DEMO_CATALOG): CatalogStore {
  return { get: async () => catalog };
}
