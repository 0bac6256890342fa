/**
 * Catalog versions: every saved catalog in D1 (migrations/0008_catalog_versions.sql) with who,
 * when, how and what changed; the newest published to KV, where the decide path reads it
 * (worker/catalog/store.ts: each isolate re-reads within CATALOG_TTL_MS).
 *
 * Saving is a compare-and-set: the new version is the expected newest + 1 and the insert only
 * happens while that is still the newest (one INSERT … SELECT … WHERE, atomic in SQLite).
 */
import { compare, type Operation } from "fast-json-patch";
import { catalogSchema, type Catalog } from "../catalog/schema.ts";
import { servingCatalog } from "../catalog/serving.ts";
import { CATALOG_KEY, DEMO_CATALOG, catalogCache } from "../catalog/store.ts";

/** How a version was made. */
export type CatalogAction =
  | "seed"
  | "create_block"
  | "update_block"
  | "approve"
  | "publish"
  | "archive"
  | "restore"
  | "discard"
  | "create_slot"
  | "update_slot"
  | "archive_slot"
  | "rollback";

/** One saved version, without its catalog. */
export interface CatalogSummary {
  version: number;
  author: string;
  /** Epoch ms. */
  createdAt: number;
  action: CatalogAction;
  /** The block or slot the action was on. */
  target?: string;
  restoredFrom?: number;
  /** What changed from the previous version: RFC 6902 operations, blocks keyed by id. */
  diff: Operation[];
}

export interface CatalogVersion extends CatalogSummary {
  catalog: Catalog;
}

export type SaveMeta = Pick<CatalogSummary, "author" | "createdAt" | "action" | "target" | "restoredFrom">;

export interface CatalogVersionStore {
  /** The newest version (D1; before the first save, the catalog in KV or the demo one as `seed`). */
  latest(): Promise<CatalogVersion>;
  get(version: number): Promise<CatalogVersion | null>;
  /** Saves `catalog` as `base.version + 1` unless another save took that number (then null). */
  save(base: CatalogVersion, catalog: Catalog, meta: SaveMeta): Promise<CatalogVersion | null>;
  history(limit: number): Promise<CatalogSummary[]>;
}

/** A catalog with blocks keyed by id, so diff paths name blocks, not array positions. */
const keyed = (c: Catalog) => ({ slots: c.slots, blocks: Object.fromEntries(c.blocks.map((b) => [b.id, b])) });

/** RFC 6902 operations from one catalog to the next (blocks by id). */
export function catalogDiff(before: Catalog, after: Catalog): Operation[] {
  return compare(keyed(before), keyed(after));
}

interface Row {
  version: number;
  catalog?: string;
  author: string;
  createdAt: number;
  action: CatalogAction;
  target: string | null;
  restoredFrom: number | null;
  diff: string;
}

const SUMMARY = "version, author, created_at AS createdAt, action, target, restored_from AS restoredFrom, diff";

function summary(r: Row): CatalogSummary {
  return {
    version: r.version,
    author: r.author,
    createdAt: r.createdAt,
    action: r.action,
    ...(r.target !== null ? { target: r.target } : {}),
    ...(r.restoredFrom !== null ? { restoredFrom: r.restoredFrom } : {}),
    diff: JSON.parse(r.diff),
  };
}

const fromRow = (r: Row): CatalogVersion => ({ ...summary(r), catalog: catalogSchema.parse(JSON.parse(r.catalog!)) });

/** The store on D1 (history) and KV (the version in force). */
export function d1CatalogVersionStore(db: D1Database, kv: KVNamespace, now: () => number = Date.now): CatalogVersionStore {
  /** What serves before the first admin save: the catalog in KV, else the demo catalog. */
  async function seed(): Promise<CatalogVersion> {
    const parsed = catalogSchema.safeParse(await kv.get(CATALOG_KEY, "json"));
    const catalog = parsed.success ? parsed.data : DEMO_CATALOG;
    return { version: catalog.version, catalog, author: "built-in", createdAt: 0, action: "seed", diff: [] };
  }

  const insert = (v: CatalogVersion, expected: number | null) =>
    db
      .prepare(
        `INSERT INTO catalog_versions (version, catalog, author, created_at, action, target, restored_from, diff)
         SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8 WHERE ?9 IS NULL OR (SELECT MAX(version) FROM catalog_versions) = ?9
         ON CONFLICT (version) DO NOTHING RETURNING version`,
      )
      .bind(v.version, JSON.stringify(v.catalog), v.author, v.createdAt, v.action, v.target ?? null, v.restoredFrom ?? null, JSON.stringify(v.diff), expected);

  /** Puts the newest version in KV; a slower save that lands after a newer one is put again. */
  async function publish(value: CatalogVersion): Promise<void> {
    await kv.put(CATALOG_KEY, JSON.stringify(value.catalog));
    const newest = await store.latest();
    if (newest.version > value.version) await kv.put(CATALOG_KEY, JSON.stringify(newest.catalog));
    // This isolate serves the new version at once; the others within CATALOG_TTL_MS.
    const serving = catalogSchema.safeParse(servingCatalog(newest.catalog));
    if (serving.success) catalogCache.set(serving.data, now());
  }

  const store: CatalogVersionStore = {
    async latest() {
      const row = await db.prepare(`SELECT ${SUMMARY}, catalog FROM catalog_versions ORDER BY version DESC LIMIT 1`).first<Row>();
      return row ? fromRow(row) : seed();
    },
    async get(version) {
      const row = await db.prepare(`SELECT ${SUMMARY}, catalog FROM catalog_versions WHERE version = ?`).bind(version).first<Row>();
      if (row) return fromRow(row);
      const first = await db.prepare("SELECT 1 AS x FROM catalog_versions LIMIT 1").first();
      const s = first ? null : await seed();
      return s && s.version === version ? s : null;
    },
    async save(base, catalog, meta) {
      const value: CatalogVersion = { ...meta, version: base.version + 1, catalog: { ...catalog, version: base.version + 1 }, diff: catalogDiff(base.catalog, catalog) };
      // Before the first save the base is the seed: it is stored too, so it can be read and
      // rolled back to (both in one batch, a single transaction).
      const statements = base.action === "seed" ? [insert(base, null), insert(value, base.version)] : [insert(value, base.version)];
      const results = await db.batch<{ version: number }>(statements);
      if (!results.at(-1)!.results.length) return null;
      await publish(value);
      return value;
    },
    async history(limit) {
      const { results } = await db.prepare(`SELECT ${SUMMARY} FROM catalog_versions ORDER BY version DESC LIMIT ?`).bind(limit).all<Row>();
      return results.map(summary);
    },
  };
  return store;
}
