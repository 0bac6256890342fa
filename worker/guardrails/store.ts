/**
 * Guardrail configuration storage: every saved version in D1 (with who and when), the version in
 * force in KV for the decide path (read-mostly, cached per isolate for 10 s).
 */
import { DEFAULT_GUARDRAILS, guardrailConfigSchema, type GuardrailConfig } from "./config.ts";

/** A saved configuration. Version 0 is the built-in default. */
export interface GuardrailVersion {
  version: number;
  config: GuardrailConfig;
  author: string;
  createdAt: number;
}

export interface GuardrailStore {
  current(): Promise<GuardrailVersion>;
  save(config: GuardrailConfig, author: string, at: number): Promise<GuardrailVersion>;
  history(limit: number): Promise<Array<Omit<GuardrailVersion, "config">>>;
}

export const GUARDRAILS_KEY = "guardrails";
const CACHE_MS = 10_000;
const BUILT_IN: GuardrailVersion = { version: 0, config: DEFAULT_GUARDRAILS, author: "built-in", createdAt: 0 };

let cached: { value: GuardrailVersion; at: number } | undefined;

/** The store on D1 (history) and KV (version in force). */
export function d1GuardrailStore(db: D1Database, kv: KVNamespace, now: () => number = Date.now): GuardrailStore {
  return {
    async current() {
      if (cached && now() - cached.at < CACHE_MS) return cached.value;
      const raw = await kv.get<GuardrailVersion>(GUARDRAILS_KEY, "json");
      // Stored configs were validated on save; parsing again fills defaults added since.
      const value = raw ? { ...raw, config: guardrailConfigSchema.parse(raw.config) } : BUILT_IN;
      cached = { value, at: now() };
      return value;
    },
    async save(config, author, at) {
      const row = await db
        .prepare("INSERT INTO guardrail_versions (config, author, created_at) VALUES (?, ?, ?) RETURNING version")
        .bind(JSON.stringify(config), author, at)
        .first<{ version: number }>();
      const value: GuardrailVersion = { version: row!.version, config, author, createdAt: at };
      await kv.put(GUARDRAILS_KEY, JSON.stringify(value));
      // This isolate uses the new version at once; others within the cache period.
      cached = { value, at: now() };
      return value;
    },
    async history(limit) {
      const { results } = await db
        .prepare("SELECT version, author, created_at AS createdAt FROM guardrail_versions ORDER BY version DESC LIMIT ?")
        .bind(limit)
        .all<{ version: number; author: string; createdAt: number }>();
      return results;
    },
  };
}

/** A fixed configuration, for unit tests. */
export function staticGuardrailStore(config: GuardrailConfig = DEFAULT_GUARDRAILS): GuardrailStore {
  let value: GuardrailVersion = { ...BUILT_IN, config };
  return {
    current: async () => value,
    save: async (c, author, at) => (value = { version: value.version + 1, config: c, author, createdAt: at }),
    history: async () => [],
  };
}
