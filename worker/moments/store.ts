/**
 * Moments configuration storage, like the guardrails' (worker/guardrails/store.ts): every saved
 * version in D1 `moment_versions` (who, when, `put` or `rollback`), the version in force in KV
 * (`moments`) for the decide and events paths, cached per isolate for 10 s. A KV value that does
 * not validate is never served: the isolate keeps its last valid version (or none: no moments).
 * Saving is a compare-and-set on the newest version (If-Match on the admin API).
 */
import { z } from "zod";
import { d1Versions, type VersionRow } from "../versions/d1.ts";
import { EMPTY_MOMENTS, momentsConfigSchema, type MomentsConfig } from "./schema.ts";

export type MomentsAction = "put" | "rollback";

/** A saved configuration; version 0 is the built-in empty one. */
export interface MomentsVersion {
  version: number;
  config: MomentsConfig;
  author: string;
  createdAt: number;
  action: MomentsAction;
  restoredFrom?: number;
}

export type MomentsSummary = Omit<MomentsVersion, "config">;

export interface MomentStore {
  /** The version served (cached, last valid). */
  current(): Promise<MomentsVersion>;
  /** The newest version in D1. */
  latest(): Promise<MomentsVersion>;
  get(version: number): Promise<MomentsVersion | null>;
  /** Saves a new version; null when `expectedVersion` is no longer the newest. */
  save(config: MomentsConfig, author: string, at: number, options?: { action?: MomentsAction; restoredFrom?: number; expectedVersion?: number }): Promise<MomentsVersion | null>;
  history(limit: number): Promise<MomentsSummary[]>;
}

export const MOMENTS_KEY = "moments";
const CACHE_MS = 10_000;
export const BUILT_IN_MOMENTS: MomentsVersion = { version: 0, config: EMPTY_MOMENTS, author: "built-in", createdAt: 0, action: "put" };

const storedSchema = z.object({
  version: z.number().int().min(0),
  config: momentsConfigSchema,
  author: z.string(),
  createdAt: z.number(),
  action: z.enum(["put", "rollback"]).default("put"),
  restoredFrom: z.number().int().min(0).optional(),
});

// Per isolate: the value served and when it was read; the last one that validated.
let cached: { value: MomentsVersion; at: number } | undefined;
let good: MomentsVersion | undefined;

const fromRow = ({ json, ...summary }: VersionRow): MomentsVersion => ({ ...summary, config: momentsConfigSchema.parse(JSON.parse(json)) });

/** The store on D1 (history) and KV (version in force). */
export function d1MomentStore(db: D1Database, kv: KVNamespace, now: () => number = Date.now): MomentStore {
  const versions = d1Versions(db, "moment_versions", "config");
  return {
    async current() {
      const t = now();
      if (cached && t - cached.at < CACHE_MS) return cached.value;
      let value: MomentsVersion;
      try {
        const raw = await kv.get(MOMENTS_KEY, "json");
        const parsed = raw === null ? undefined : storedSchema.safeParse(raw);
        if (parsed && !parsed.success) console.error("moments configuration in KV rejected, serving the last valid one");
        value = parsed?.success ? (good = parsed.data) : (good ?? BUILT_IN_MOMENTS);
      } catch (err) {
        console.error("moments configuration unreadable:", err instanceof Error ? err.message : err);
        value = good ?? BUILT_IN_MOMENTS;
      }
      cached = { value, at: t };
      return value;
    },
    async latest() {
      const row = await versions.latest();
      return row ? fromRow(row) : BUILT_IN_MOMENTS;
    },
    async get(version) {
      if (version === 0) return BUILT_IN_MOMENTS;
      const row = await versions.get(version);
      return row ? fromRow(row) : null;
    },
    async save(config, author, at, options = {}) {
      const saved = await versions.save(config, author, at, options);
      if (!saved) return null;
      const value: MomentsVersion = { ...saved, config };
      await kv.put(MOMENTS_KEY, JSON.stringify(value));
      // This isolate serves it at once; others within the cache period.
      good = value;
      cached = { value, at: now() };
      return value;
    },
    history: (limit) => versions.history(limit),
  };
}

/** Forgets this isolate's cached version (tests that rewrite KV directly). */
export function expireMomentsCache(): void {
  cached = undefined;
}
