/**
 * Calibration at serving: the active calibrations, read from D1 once per isolate and refreshed in
 * the background after CALIBRATION_TTL_MS (the decide path waits only on the isolate's first
 * use), each compiled once into a function; a calibrated model is its scorer wrapped so scores
 * pass through the map and `version` reads `<version>+cal<n>`.
 */
import type { ManagedScorer } from "../models/scorer.ts";
import { sharedRead } from "../isolate/shared-read.ts";
import { calibrator } from "./fit.ts";
import { calibratedVersion, type StoredCalibration } from "./store.ts";

/** How long the isolate trusts its calibrations before refreshing them (ms). */
export const CALIBRATION_TTL_MS = 5_000;
/** A read of the calibrations still pending after this long is started again, ms. */
const STALE_READ_MS = 60_000;

interface Compiled {
  n: number;
  f: (p: number) => number;
}

/** Where the calibrations are read. */
export type CalibrationReader = () => Promise<Map<string, StoredCalibration>>;

/** The per-isolate cache. */
export function calibrationCache(options: { ttlMs?: number; now?: () => number } = {}) {
  const ttl = options.ttlMs ?? CALIBRATION_TTL_MS;
  const now = options.now ?? Date.now;
  let cached: { byModel: Map<string, Compiled>; at: number } | undefined;
  // One read shared by the isolate's requests; one still pending after STALE_READ_MS is not
  // waited on any longer (its request may have ended: worker/isolate/shared-read.ts).
  const loading = sharedRead<void>(STALE_READ_MS, now);
  const load = (read: CalibrationReader, keepAlive?: (work: Promise<unknown>) => void) => loading(() => start(read), keepAlive);
  const start = (read: CalibrationReader): Promise<void> =>
    read()
      .then((all) => {
        cached = { byModel: new Map([...all].map(([id, c]) => [id, { n: c.n, f: calibrator(c.map) }])), at: now() };
      })
      .catch((err) => {
        console.warn("reading calibrations failed, serving uncalibrated until the next try:", err instanceof Error ? err.message : err);
        cached ??= { byModel: new Map(), at: now() };
      });

  return {
    /** The compiled calibrations (awaits only the first read); `keepAlive` as ModelSource's. */
    async get(read: CalibrationReader, keepAlive?: (work: Promise<unknown>) => void): Promise<Map<string, Compiled>> {
      if (!cached) await load(read, keepAlive);
      else if (now() - cached.at >= ttl) void load(read, keepAlive);
      return cached!.byModel;
    },
    invalidate: () => (cached = undefined),
  };
}

/** The isolate's calibration cache. */
export const isolateCalibrations = calibrationCache();

/** Wraps a scorer with a calibration (scores mapped, version suffixed); the same object is shared by requests. */
export function calibratedScorer(scorer: ManagedScorer, c: Compiled): ManagedScorer {
  return {
    version: calibratedVersion(scorer.version, c.n),
    manifest: scorer.manifest,
    async score(features, rows, context) {
      const raw = await scorer.score(features, rows, context);
      return raw.map(c.f);
    },
    retire: () => scorer.retire(),
  };
}
