/**
 * Serving registry models in one isolate: the deployment (champion, challenger, shadows) read
 * from D1 and trusted for DEPLOYMENT_TTL_MS, so a newly activated model is picked up by every
 * running isolate within seconds, without a restart; and an LRU of ORT sessions, so memory stays
 * bounded whatever the registry holds.
 *
 * Why D1 and not KV for the pointer: KV reads may be stale for up to 60 s at other locations,
 * D1 reads are consistent, and one query per isolate every few seconds is cheap.
 *
 * Loads are shared by the requests of an isolate, which is where workerd bites: a promise whose
 * I/O (the R2 read, the D1 read) belongs to one request never settles for the others once that
 * request has ended — workerd cancels the continuations of a finished request. A decide whose
 * cold-start budget ran out answers with the fallback and ends, and every later decide of the
 * isolate then waited its whole budget on a load that could no longer finish (seen as a test
 * server answering every decide after exactly 30 s). So the request that starts a shared load
 * keeps itself alive until the load is done (`ModelSource.keepAlive`, `ctx.waitUntil`), and a
 * load still pending after STALE_LOAD_MS (longer than any `waitUntil` lasts) is started again.
 */
import { z } from "zod";
import { adaptiveId } from "../adaptive/model.ts";
import { adaptiveScorer, type AdaptiveStateSource } from "../adaptive/serving.ts";
import { readAdaptiveState } from "../adaptive/store.ts";
import { calibratedScorer, isolateCalibrations, type CalibrationReader } from "../calibration/serving.ts";
import { activeCalibrations } from "../calibration/store.ts";
import { reportHealth } from "../config-health/last-good.ts";
import { formatZodError } from "../errors/app-error.ts";
import { sharedRead } from "../isolate/shared-read.ts";
import type { ModelSelection, OutcomeModel, ScorerProvider } from "../ranking/active-model.ts";
import { builtinBytes, builtinId } from "./builtin.ts";
import { inChallenger, initialDeployment, modelsInUse, type DeploymentState } from "./deployment.ts";
import { DEPLOYMENT_TTL_MS, SESSION_CACHE_SIZE } from "./limits.ts";
import { d1ModelRegistry, r2ModelFiles, type ModelFiles, type ModelRegistry } from "./registry.ts";
import { registryScorer, sha256Hex, type ManagedScorer } from "./scorer.ts";
import { acceptedFromBytes } from "./validate.ts";

/** Where the runtime reads the deployment and the model files. */
export interface ModelSource {
  registry: Pick<ModelRegistry, "latestDeployment">;
  files: Pick<ModelFiles, "get">;
  /** The adaptive model's state (worker/adaptive/); without it that model cannot load. */
  adaptive?: AdaptiveStateSource;
  /** The active calibrations (worker/calibration/); without it models serve uncalibrated. */
  calibrations?: CalibrationReader;
  /**
   * Keeps the calling request alive until `work` is done (`ctx.waitUntil`): given a load this
   * request starts and others may wait on. Without it (tests, the warm-up, which is itself
   * waited for) a load lives as long as its request.
   */
  keepAlive?: (work: Promise<unknown>) => void;
}

/** A shared load still pending after this long is abandoned and started again, ms. */
export const STALE_LOAD_MS = 60_000;

export interface RuntimeOptions {
  ttlMs?: number;
  cacheSize?: number;
  now?: () => number;
}

/** The per-isolate model runtime. */
export interface ModelRuntime {
  /** A ScorerProvider (what the decide core asks) reading from `source`. */
  provider(source: ModelSource): ScorerProvider;
  /** The deployment in force, from cache when fresh. */
  deployment(source: ModelSource): Promise<DeploymentState>;
  /** Forgets the cached deployment (after this isolate changed it). */
  invalidate(): void;
  /** Ids with a session in memory, least recently used first. */
  loaded(): string[];
}

async function loadScorer(source: ModelSource, id: string): Promise<ManagedScorer> {
  if (id === (await adaptiveId())) {
    // The built-in adaptive model: its state, not a file (nothing to release).
    if (!source.adaptive) throw new Error("the adaptive model's state is not available here");
    return Object.assign(await adaptiveScorer(id, source.adaptive), { retire() {} });
  }
  const bytes = id === (await builtinId()) ? builtinBytes() : await source.files.get(id);
  if (!bytes) throw new Error(`model file ${id.slice(0, 12)} is missing from storage`);
  if ((await sha256Hex(bytes)) !== id) throw new Error(`model file ${id.slice(0, 12)} does not match its hash`);
  const accepted = acceptedFromBytes(bytes, id);
  return registryScorer(bytes, accepted.manifest, accepted.version, accepted.output.name);
}

const modelId = z.string().regex(/^[0-9a-f]{64}$/, "a model id: 64 lower-case hex digits");
/** A stored deployment state; one that does not match is never served. */
const deploymentStateSchema = z.object({
  champion: modelId,
  history: z.array(modelId),
  challenger: z.object({ id: modelId, percent: z.number().min(0).max(100) }).nullable(),
  shadows: z.array(modelId),
  outcomes: z
    .record(
      z.string(),
      z.object({
        champion: modelId.nullable(),
        history: z.array(modelId),
        challenger: z.object({ id: modelId, percent: z.number().min(0).max(100) }).nullable(),
        shadows: z.array(modelId),
      }),
    )
    .optional(),
});

/** Creates a runtime; production uses one per isolate (`isolateModelRuntime`). */
export function createModelRuntime(options: RuntimeOptions = {}): ModelRuntime {
  const ttlMs = options.ttlMs ?? DEPLOYMENT_TTL_MS;
  const cacheSize = options.cacheSize ?? SESSION_CACHE_SIZE;
  const now = options.now ?? Date.now;
  let cached: { state: DeploymentState; at: number } | undefined;
  // One deployment read per isolate however many requests arrive while it runs (worker/isolate/).
  const refreshing = sharedRead<DeploymentState>(STALE_LOAD_MS, now);
  const sessions = new Map<string, Promise<ManagedScorer>>();
  /** When each session's load started, while it is pending. */
  const pendingSince = new Map<string, number>();
  const stateful = new Set<string>();

  async function refresh(source: ModelSource): Promise<DeploymentState> {
    const at = now();
    const fallback = async (status: "invalid" | "unreadable", message: string) => {
      // Keep serving what this isolate knew (or the default), retry after the TTL.
      const state = cached?.state ?? initialDeployment(await builtinId());
      reportHealth({ source: "modelDeployment", status, serving: cached ? "last-good" : "built-in", servingVersion: state.champion, error: { message, at }, checkedAt: at });
      return state;
    };
    let state: DeploymentState;
    try {
      const revision = await source.registry.latestDeployment();
      const parsed = revision ? deploymentStateSchema.safeParse(revision.state) : undefined;
      if (parsed && !parsed.success) state = await fallback("invalid", formatZodError(parsed.error, "state"));
      else {
        state = parsed?.data ?? initialDeployment(await builtinId());
        reportHealth({ source: "modelDeployment", status: "ok", serving: revision ? "stored" : "built-in", servingVersion: state.champion, error: null, checkedAt: at });
      }
    } catch (err) {
      state = await fallback("unreadable", err instanceof Error ? err.message : String(err));
    }
    cached = { state, at: now() };
    return state;
  }

  async function deployment(source: ModelSource): Promise<DeploymentState> {
    if (cached && now() - cached.at < ttlMs) return cached.state;
    return refreshing(() => refresh(source), source.keepAlive);
  }

  function scorer(source: ModelSource, id: string, pinned: readonly string[]): Promise<ManagedScorer> {
    const hit = sessions.get(id);
    const since = pendingSince.get(id);
    if (hit && (since === undefined || now() - since < STALE_LOAD_MS)) {
      sessions.delete(id);
      sessions.set(id, hit);
      return hit;
    }
    const loading = loadScorer(source, id);
    sessions.set(id, loading);
    pendingSince.set(id, now());
    loading.then(
      () => sessions.get(id) === loading && pendingSince.delete(id),
      () => sessions.get(id) === loading && pendingSince.delete(id),
    );
    source.keepAlive?.(loading.catch(() => undefined));
    void adaptiveId().then((a) => a === id && stateful.add(id));
    // A failed load is retried by a later request instead of being cached.
    loading.catch(() => sessions.get(id) === loading && sessions.delete(id));
    while (sessions.size > cacheSize) {
      const victim = [...sessions.keys()].find((k) => !pinned.includes(k)) ?? sessions.keys().next().value!;
      const evicted = sessions.get(victim)!;
      sessions.delete(victim);
      evicted.then((s) => s.retire(), () => undefined);
    }
    return loading;
  }

  /** The model's scorer through its active calibration, if it has one (issue 14 item 3). */
  async function calibrated(source: ModelSource, id: string, scorer: ManagedScorer): Promise<ManagedScorer> {
    if (!source.calibrations) return scorer;
    const c = (await isolateCalibrations.get(source.calibrations, source.keepAlive)).get(id);
    return c ? calibratedScorer(scorer, c) : scorer;
  }

  return {
    deployment,
    invalidate: () => {
      cached = undefined;
      isolateCalibrations.invalidate();
      // State-backed scorers (the adaptive model) reload their state on next use.
      for (const id of stateful) sessions.delete(id);
    },
    loaded: () => [...sessions.keys()],
    provider(source) {
      return {
        async select(visitorId: string): Promise<ModelSelection> {
          const state = await deployment(source);
          const pinned = modelsInUse(state);
          let selection: Pick<ModelSelection, "serving" | "arm"> | undefined;
          if (state.challenger && inChallenger(state.challenger, visitorId)) {
            try {
              selection = { serving: await calibrated(source, state.challenger.id, await scorer(source, state.challenger.id, pinned)), arm: "challenger" };
            } catch (err) {
              console.warn("challenger unavailable, serving the champion:", err instanceof Error ? err.message : err);
            }
          }
          // A champion that cannot load rejects: the decide core answers with the rule-based fallback.
          selection ??= { serving: await calibrated(source, state.champion, await scorer(source, state.champion, pinned)), arm: "champion" };
          const others = Object.entries(state.outcomes ?? {});
          const shadowIds = others.length ? [...state.shadows, ...others.flatMap(([, d]) => d.shadows)] : state.shadows;
          const shadows = await Promise.allSettled(shadowIds.map(async (id) => calibrated(source, id, await scorer(source, id, pinned))));
          const served = { ...selection, shadows: shadows.flatMap((s) => (s.status === "fulfilled" ? [s.value] : [])) };
          if (!others.length) return served;
          // Each other outcome: its challenger for its share of visitors, else its champion. One
          // that cannot load is left out of arbitration rather than failing the decision.
          const outcomes = await Promise.allSettled(
            others
              .filter(([, d]) => d.champion !== null)
              .map(async ([outcome, d]): Promise<OutcomeModel> => {
                if (d.challenger && inChallenger(d.challenger, visitorId)) {
                  try {
                    return { outcome, serving: await calibrated(source, d.challenger.id, await scorer(source, d.challenger.id, pinned)), arm: "challenger" };
                  } catch (err) {
                    console.warn(`${outcome} challenger unavailable, serving its champion:`, err instanceof Error ? err.message : err);
                  }
                }
                return { outcome, serving: await calibrated(source, d.champion!, await scorer(source, d.champion!, pinned)), arm: "champion" };
              }),
          );
          for (const o of outcomes) if (o.status === "rejected") console.warn("an outcome model is unavailable:", o.reason instanceof Error ? o.reason.message : o.reason);
          return { ...served, outcomes: outcomes.flatMap((o) => (o.status === "fulfilled" ? [o.value] : [])) };
        },
      };
    },
  };
}

/** The runtime of this isolate. */
export const isolateModelRuntime = createModelRuntime();

/** Reads models from the Worker's bindings; `keepAlive` is the request's `ctx.waitUntil`. */
export function modelSourceFromEnv(env: Pick<Env, "DB" | "MODELS">, keepAlive?: (work: Promise<unknown>) => void): ModelSource {
  return {
    registry: d1ModelRegistry(env.DB),
    files: r2ModelFiles(env.MODELS),
    adaptive: { read: (id) => readAdaptiveState(env.DB, id) },
    calibrations: () => activeCalibrations(env.DB),
    ...(keepAlive ? { keepAlive } : {}),
  };
}

/** The production ScorerProvider: registry-backed, cached per isolate; `keepAlive` as above. */
export function registryModelProvider(env: Pick<Env, "DB" | "MODELS">, keepAlive?: (work: Promise<unknown>) => void): ScorerProvider {
  return isolateModelRuntime.provider(modelSourceFromEnv(env, keepAlive));
}

/**
 * Loads a registered model outside the serving cache, e.g. for off-policy evaluation. `ref` is
 * the id, a unique prefix of ≥ 12 hex digits, or the version (`name@sha12`). Resolves null when
 * no model matches; the caller retires the scorer when done so its session is released.
 */
export async function loadRegisteredScorer(env: Pick<Env, "DB" | "MODELS">, ref: string): Promise<ManagedScorer | null> {
  const source = modelSourceFromEnv(env);
  const registry = d1ModelRegistry(env.DB);
  const prefix = /^[0-9a-f]{12,64}$/.test(ref) ? ref : /@([0-9a-f]{12})$/.exec(ref)?.[1];
  if (!prefix) return null;
  const builtin = await builtinId();
  const adaptive = await adaptiveId();
  const matches = builtin.startsWith(prefix) ? [{ id: builtin }] : adaptive.startsWith(prefix) ? [{ id: adaptive }] : await registry.byPrefix(prefix);
  if (matches.length !== 1) return null;
  const scorer = await loadScorer(source, matches[0]!.id);
  return ref.includes("@") && scorer.version !== ref ? (scorer.retire(), null) : scorer;
}
