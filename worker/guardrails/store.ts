/**
 * Guardrail configuration storage: every saved version in D1 (with who, when and how), the
 * version in force in KV for the decide path (read-mostly, cached per isolate for 10 s).
 *
 * Saving is a compare-and-set on the newest version in D1 (one INSERT … SELECT … WHERE, atomic in
 * SQLite), which is what `If-Match` on the admin API relies on. A KV value that does not
 * validate is never served: the isolate keeps its last valid version (worker/config-health/).
 */
import { z } from "zod";
import { lastGood } from "../config-health/last-good.ts";
import { formatZodError } from "../errors/app-error.ts";
import { keySuppressionLists } from "./suppression.ts";
import { DEFAULT_GUARDRAILS, guardrailConfigSchema, type GuardrailConfig } from "./config.ts";

/** How a version was made. */
export type GuardrailAction = "put" | "patch" | "rollback";

/** A saved configuration. Version 0 is the built-in default. */
export interface GuardrailVersion {
  version: number;
  config: GuardrailConfig;
  author: string;
  createdAt: number;
  /** `put` (whole replacement), `patch` (JSON Merge Patch) or `rollback`. */
  action: GuardrailAction;
  /** For a rollback: the version whose configuration was restored. */
  restoredFrom?: number;
}

export type GuardrailSummary = Omit<GuardrailVersion, "config">;

export interface SaveOptions {
  action?: GuardrailAction;
  restoredFrom?: number;
  /** Save only if the newest version is still this one (optimistic concurrency). */
  expectedVersion?: number;
}

export interface GuardrailStore {
  /** The version the decide path serves (cached, last valid). */
  current(): Promise<GuardrailVersion>;
  /** The newest saved version, read from D1 (the authority for `If-Match`). */
  latest(): Promise<GuardrailVersion>;
  /** One saved version (0: the built-in default), or null. */
  get(version: number): Promise<GuardrailVersion | null>;
  /** Saves a new version; null when `expectedVersion` is no longer the newest. */
  save(config: GuardrailConfig, author: string, at: number, options?: SaveOptions): Promise<GuardrailVersion | null>;
  history(limit: number): Promise<GuardrailSummary[]>;
}

export const GUARDRAILS_KEY = "guardrails";
const CACHE_MS = 10_000;
export const BUILT_IN_GUARDRAILS: GuardrailVersion = { version: 0, config: DEFAULT_GUARDRAILS, author: "built-in", createdAt: 0, action: "put" };

/** What KV holds: a version; parsing fills config defaults added since it was saved. */
const storedVersionSchema = z.object({
  version: z.number().int().min(0),
  config: guardrailConfigSchema,
  author: z.string(),
  createdAt: z.number(),
  action: z.enum(["put", "patch", "rollback"]).default("put"),
  restoredFrom: z.number().int().min(0).optional(),
});

const guardrailsCache = lastGood<GuardrailVersion>({
  source: "guardrails",
  validate(raw) {
    const parsed = storedVersionSchema.safeParse(raw);
    return parsed.success ? { ok: true, value: parsed.data } : { ok: false, message: formatZodError(parsed.error, "guardrails") };
  },
  builtIn: () => BUILT_IN_GUARDRAILS,
  version: (v) => v.version,
  ttlMs: CACHE_MS,
});

interface Row {
  version: number;
  config: string;
  author: string;
  createdAt: number;
  action: GuardrailAction;
  restoredFrom: number | null;
}

const COLUMNS = "version, config, author, created_at AS createdAt, action, restored_from AS restoredFrom";

function summary(r: Omit<Row, "config">): GuardrailSummary {
  return { version: r.version, author: r.author, createdAt: r.createdAt, action: r.action, ...(r.restoredFrom !== null ? { restoredFrom: r.restoredFrom } : {}) };
}

function fromRow(r: Row): GuardrailVersion {
  // Stored configs were validated on save; parsing again fills defaults added since.
  return { ...summary(r), config: guardrailConfigSchema.parse(JSON.parse(r.config)) };
}

/** The store on D1 (history) and KV (version in force). */
export function d1GuardrailStore(db: D1Database, kv: KVNamespace, now: () => number = Date.now, keepAlive?: (work: Promise<unknown>) => void): GuardrailStore {
  const store: GuardrailStore = {
    current() {
      return guardrailsCache.get(() => kv.get(GUARDRAILS_KEY, "json"), now(), keepAlive);
    },
    async latest() {
      const row = await db.prepare(`SELECT ${COLUMNS} FROM guardrail_versions ORDER BY version DESC LIMIT 1`).first<Row>();
      return row ? fromRow(row) : BUILT_IN_GUARDRAILS;
    },
    async get(version) {
      if (version === 0) return BUILT_IN_GUARDRAILS;
      const row = await db.prepare(`SELECT ${COLUMNS} FROM guardrail_versions WHERE version = ?`).bind(version).first<Row>();
      return row ? fromRow(row) : null;
    },
    async save(given, author, at, options = {}) {
      // No raw visitor id is ever saved: suppression lists hold keys (suppression.ts).
      const config = await keySuppressionLists(given);
      const action = options.action ?? "put";
      const restoredFrom = options.restoredFrom ?? null;
      const expected = options.expectedVersion ?? null;
      const row = await db
        .prepare(
          `INSERT INTO guardrail_versions (config, author, created_at, action, restored_from)
           SELECT ?1, ?2, ?3, ?4, ?5 WHERE ?6 IS NULL OR (SELECT COALESCE(MAX(version), 0) FROM guardrail_versions) = ?6
           RETURNING version`,
        )
        .bind(JSON.stringify(config), author, at, action, restoredFrom, expected)
        .first<{ version: number }>();
      if (!row) return null;
      const value: GuardrailVersion = { version: row.version, config, author, createdAt: at, action, ...(restoredFrom !== null ? { restoredFrom } : {}) };
      await kv.put(GUARDRAILS_KEY, JSON.stringify(value));
      // This isolate uses the new version at once; others within the cache period.
      guardrailsCache.set(value, now());
      return value;
    },
    async history(limit) {
      const { results } = await db
        .prepare("SELECT version, author, created_at AS createdAt, action, restored_from AS restoredFrom FROM guardrail_versions ORDER BY version DESC LIMIT ?")
        .bind(limit)
        .all<Omit<Row, "config">>();
      return results.map(summary);
    },
  };
  return store;
}

/** A fixed configuration, for unit tests. */
export function staticGuardrailStore(config: GuardrailConfig = DEFAULT_GUARDRAILS): GuardrailStore {
  const versions: GuardrailVersion[] = [{ ...BUILT_IN_GUARDRAILS, config }];
  const newest = () => versions.at(-1)!;
  return {
    current: async () => newest(),
    latest: async () => newest(),
    get: async (v) => versions.find((x) => x.version === v) ?? null,
    save: async (given, author, at, options = {}) => {
      const c = await keySuppressionLists(given);
      if (options.expectedVersion !== undefined && options.expectedVersion !== newest().version) return null;
      const value: GuardrailVersion = { version: newest().version + 1, config: c, author, createdAt: at, action: options.action ?? "put", ...(options.restoredFrom !== undefined ? { restoredFrom: options.restoredFrom } : {}) };
      versions.push(value);
      return value;
    },
    history: async () => versions.slice(1).reverse().map(({ config: _, ...s }) => s),
  };
}
