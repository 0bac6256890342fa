/**
 * Configuration that cannot break serving. Everything the decide path reads from KV or D1
 * (catalog, guardrails, campaign holdouts, model deployment) goes through here: what is read is
 * validated; when it does not validate (or cannot be read) this isolate keeps serving the last
 * value that validated — or, if none ever did, the built-in default — logs the error, and records
 * it so `GET /admin/config/health` can show it (worker/config-health/route.ts).
 *
 * State is per isolate (module scope): each isolate keeps its own last good value, which is what
 * it serves. The health route re-reads every source, so it reports what is stored now.
 */
import { sharedRead } from "../isolate/shared-read.ts";

/** The configuration sources the decide path reads. */
export type ConfigSource = "catalog" | "guardrails" | "campaignHoldouts" | "modelDeployment";

/** The health of one source, as this isolate last read it. */
export interface SourceHealth {
  source: ConfigSource;
  /** `ok`: the stored value validated (or none is stored); `invalid`: it did not; `unreadable`: reading failed. */
  status: "ok" | "invalid" | "unreadable";
  /** What is served: the stored value, the last value that validated, or the built-in default. */
  serving: "stored" | "last-good" | "built-in";
  /** Version of the configuration served, when the source has versions. */
  servingVersion: number | string | null;
  /** Why the stored value is not served (zod issues as `path: message`), and when it was seen (ms). */
  error: { message: string; at: number } | null;
  /** When the source was last read (epoch ms). */
  checkedAt: number;
}

const health = new Map<ConfigSource, SourceHealth>();
const caches = new Set<{ expire(): void }>();

/** Records a source's health (and logs a failure: the operator sees it in `wrangler tail`). */
export function reportHealth(entry: SourceHealth): void {
  if (entry.error) console.error(`${entry.source} configuration rejected, serving the ${entry.serving} one: ${entry.error.message}`);
  health.set(entry.source, entry);
}

/** The health of every source this isolate has read, in a stable order. */
export function configHealth(): SourceHealth[] {
  return [...health.values()].sort((a, b) => a.source.localeCompare(b.source));
}

/** Makes every cache re-read its source on next use (last good values are kept). */
export function expireConfigCaches(): void {
  for (const cache of caches) cache.expire();
}

/** Result of validating a raw stored value. */
export type Validated<T> = { ok: true; value: T } | { ok: false; message: string };

export interface LastGoodSpec<T> {
  source: ConfigSource;
  /** Validates what was read (never throws). */
  validate(raw: unknown): Validated<T>;
  /** Served when nothing is stored, or nothing stored ever validated. */
  builtIn(): T;
  version(value: T): number | string | null;
  /** How long a read is trusted before reading again. */
  ttlMs: number;
}

/** A per-isolate cache of one source that only ever serves values that validated. */
export interface LastGood<T> {
  /** The value to serve; `read` resolves the raw stored value, null when none is stored. */
  /** The value (a fresh one, else one read shared by the isolate); `keepAlive` is the request's `ctx.waitUntil`, given a read it starts. */
  get(read: () => Promise<unknown>, now: number, keepAlive?: (work: Promise<unknown>) => void): Promise<T>;
  /** Like `get`, but reads the source whatever the cache holds. */
  refresh(read: () => Promise<unknown>, now: number): Promise<T>;
  /** Serves a value this isolate just validated and stored (e.g. after an admin save). */
  set(value: T, now: number): void;
  expire(): void;
}

const describe = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** Creates the cache of one source; call once per module (it lives as long as the isolate). */
export function lastGood<T>(spec: LastGoodSpec<T>): LastGood<T> {
  let fresh: { value: T; at: number } | undefined;
  let good: T | undefined;
  // One read per isolate however many requests arrive while it runs; a request waits on another's
  // for at most 10 s, then reads itself (a read whose request was cancelled never settles).
  const loading = sharedRead<T>(10_000);

  function settle(value: T, now: number, entry: Omit<SourceHealth, "source" | "servingVersion" | "checkedAt">): T {
    fresh = { value, at: now };
    reportHealth({ source: spec.source, ...entry, servingVersion: spec.version(value), checkedAt: now });
    return value;
  }

  function fallback(status: "invalid" | "unreadable", message: string, now: number): T {
    const serving = good === undefined ? "built-in" : "last-good";
    return settle(good ?? spec.builtIn(), now, { status, serving, error: { message, at: now } });
  }

  async function load(read: () => Promise<unknown>, now: number): Promise<T> {
    let raw: unknown;
    try {
      raw = await read();
    } catch (err) {
      return fallback("unreadable", describe(err), now);
    }
    if (raw === null || raw === undefined) return settle(spec.builtIn(), now, { status: "ok", serving: "built-in", error: null });
    const result = spec.validate(raw);
    if (!result.ok) return fallback("invalid", result.message, now);
    good = result.value;
    return settle(result.value, now, { status: "ok", serving: "stored", error: null });
  }

  const cache: LastGood<T> = {
    async get(read, now, keepAlive) {
      if (fresh && now - fresh.at < spec.ttlMs) return fresh.value;
      return loading(() => load(read, now), keepAlive);
    },
    refresh(read, now) {
      fresh = undefined;
      return cache.get(read, now);
    },
    set(value, now) {
      good = value;
      settle(value, now, { status: "ok", serving: "stored", error: null });
    },
    expire: () => (fresh = undefined),
  };
  caches.add(cache);
  return cache;
}
