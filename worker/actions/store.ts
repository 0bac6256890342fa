/**
 * Storage of the action catalog: every saved version in D1 (who, when, how), the newest in force,
 * cached per isolate for 10 s (next-action reads it on every call). Saving is a compare-and-set on
 * the newest version (one INSERT … SELECT … WHERE), which `If-Match` on the admin API relies on.
 */
import { d1Versions, type VersionRow } from "../versions/d1.ts";
import { actionCatalogSchema, EMPTY_ACTION_CATALOG, type ActionCatalog } from "./schema.ts";

export interface ActionCatalogVersion {
  /** 0 is the built-in empty catalog. */
  version: number;
  catalog: ActionCatalog;
  author: string;
  createdAt: number;
  action: "put" | "rollback";
  restoredFrom?: number;
}

export type ActionCatalogSummary = Omit<ActionCatalogVersion, "catalog">;

export interface ActionCatalogStore {
  /** The version in force (cached ≤ 10 s per isolate). */
  current(): Promise<ActionCatalogVersion>;
  /** The newest version, read from D1. */
  latest(): Promise<ActionCatalogVersion>;
  get(version: number): Promise<ActionCatalogVersion | null>;
  /** Saves a new version; null when `expectedVersion` is given and no longer the newest. */
  save(catalog: ActionCatalog, author: string, at: number, options?: { action?: "put" | "rollback"; restoredFrom?: number; expectedVersion?: number }): Promise<ActionCatalogVersion | null>;
  history(limit: number): Promise<ActionCatalogSummary[]>;
}

export const BUILT_IN_ACTIONS: ActionCatalogVersion = { version: 0, catalog: EMPTY_ACTION_CATALOG, author: "built-in", createdAt: 0, action: "put" };
const CACHE_MS = 10_000;
let cache: { value: ActionCatalogVersion; at: number } | undefined;

// Stored documents were validated on save; parsing again fills defaults added since.
const fromRow = ({ json, ...summary }: VersionRow): ActionCatalogVersion => ({ ...summary, catalog: actionCatalogSchema.parse(JSON.parse(json)) });

/** The store on D1. */
export function d1ActionCatalogStore(db: D1Database, now: () => number = Date.now): ActionCatalogStore {
  const versions = d1Versions(db, "action_catalog_versions", "catalog");
  const store: ActionCatalogStore = {
    async current() {
      const t = now();
      if (cache && t - cache.at < CACHE_MS) return cache.value;
      const value = await store.latest();
      cache = { value, at: t };
      return value;
    },
    async latest() {
      const row = await versions.latest();
      return row ? fromRow(row) : BUILT_IN_ACTIONS;
    },
    async get(version) {
      if (version === 0) return BUILT_IN_ACTIONS;
      const row = await versions.get(version);
      return row ? fromRow(row) : null;
    },
    async save(catalog, author, at, options = {}) {
      const saved = await versions.save(catalog, author, at, options);
      if (!saved) return null;
      const value: ActionCatalogVersion = { ...saved, catalog };
      // This isolate uses the new version at once; others within the cache period.
      cache = { value, at: now() };
      return value;
    },
    history: (limit) => versions.history(limit),
  };
  return store;
}

/** A fixed catalog, for unit tests. */
export function staticActionCatalogStore(catalog: ActionCatalog = EMPTY_ACTION_CATALOG): ActionCatalogStore {
  const versions: ActionCatalogVersion[] = [{ ...BUILT_IN_ACTIONS, catalog }];
  const newest = () => versions.at(-1)!;
  return {
    current: async () => newest(),
    latest: async () => newest(),
    get: async (v) => versions.find((x) => x.version === v) ?? null,
    save: async (c, author, at, options = {}) => {
      if (options.expectedVersion !== undefined && options.expectedVersion !== newest().version) return null;
      const value: ActionCatalogVersion = { version: newest().version + 1, catalog: c, author, createdAt: at, action: options.action ?? "put", ...(options.restoredFrom !== undefined ? { restoredFrom: options.restoredFrom } : {}) };
      versions.push(value);
      return value;
    },
    history: async () => versions.slice(1).reverse().map(({ catalog: _, ...s }) => s),
  };
}
