/**
 * The model admin service behind /admin/models: upload (validate, store, register), read, and
 * change the deployment. No Hono types: the routes translate HTTP to these calls.
 */
import { AppError } from "../errors/app-error.ts";
import { ADAPTIVE_NAME, adaptiveId, adaptiveManifest, adaptiveReport, adaptiveVersion } from "../adaptive/model.ts";
import { BUILTIN_ACTOR, builtinBytes, builtinId } from "./builtin.ts";
import { outcomeOf } from "../ranking/manifest.ts";
import { applyAction, initialDeployment, PRIMARY_OUTCOME, roleOf, type DeploymentAction, type DeploymentState, type OutcomeDeployment } from "./deployment.ts";
import type { DeploymentRevision, ModelFiles, ModelRecord, ModelRegistry } from "./registry.ts";
import type { ValidationReport } from "./report.ts";
import { sha256Hex } from "./scorer.ts";
import { validateModel, type ValidateOptions } from "./validate.ts";

export interface ModelAdminDeps {
  registry: ModelRegistry;
  files: ModelFiles;
  /** Called after a deployment change, so this isolate serves it at once. */
  invalidate: () => void;
  now: () => number;
  validation: ValidateOptions;
}

/** A model as listed. */
export interface ModelView {
  id: string;
  version: string;
  name: string;
  status: ReturnType<typeof roleOf>;
  /** Share of visitors (0–100) when it is the challenger. */
  percent?: number;
  sizeBytes: number;
  features: number;
  output: string;
  /** What it predicts (manifest `outcome`, default click): it serves in that outcome's deployment. */
  outcome: string;
  uploadedBy: string;
  uploadedAt: number;
}

/** The deployment as answered: ids with their versions. */
export interface DeploymentView {
  revision: number;
  champion: { id: string; version: string };
  challenger: { id: string; version: string; percent: number } | null;
  shadows: Array<{ id: string; version: string }>;
  /** Where successive rollbacks go, most recent first. */
  previousChampions: Array<{ id: string; version: string }>;
  updatedBy: string | null;
  updatedAt: number | null;
  /** The other outcomes' deployments (present once a non-click model was deployed). */
  outcomes?: Record<string, OutcomeView>;
}

/** One non-click outcome's deployment, as answered. */
export interface OutcomeView {
  champion: { id: string; version: string } | null;
  challenger: { id: string; version: string; percent: number } | null;
  shadows: Array<{ id: string; version: string }>;
  previousChampions: Array<{ id: string; version: string }>;
}

/** A refused upload: the report carries every reason. */
export class ModelRefused extends AppError {
  constructor(readonly report: ValidationReport) {
    super("unprocessable_model", report.reasons.map((r) => r.message).join("; ") || "the model was refused");
  }
}

function view(m: ModelRecord, state: DeploymentState): ModelView {
  const status = roleOf(state, m.id);
  return {
    id: m.id,
    version: m.version,
    name: m.name,
    status,
    ...(status === "challenger" ? { percent: state.challenger!.percent } : {}),
    sizeBytes: m.sizeBytes,
    features: m.manifest.features.length,
    output: m.manifest.output,
    outcome: outcomeOf(m.manifest),
    uploadedBy: m.uploadedBy,
    uploadedAt: m.uploadedAt,
  };
}

/** Creates the service. */
export function modelAdmin(deps: ModelAdminDeps) {
  const { registry, files } = deps;

  /** Registers the built-in adaptive model once (worker/adaptive/model.ts): listed, and deployable like any other. */
  async function ensureAdaptive(): Promise<void> {
    const id = await adaptiveId();
    if (await registry.get(id)) return;
    await registry.insert({ id, name: ADAPTIVE_NAME, version: await adaptiveVersion(), sizeBytes: 0, manifest: adaptiveManifest(), report: await adaptiveReport(), uploadedBy: BUILTIN_ACTOR, uploadedAt: 0 });
  }

  /** Registers the shipped default model once, so it is listed and can be named like any other. */
  async function ensureBuiltIn(): Promise<string> {
    const id = await builtinId();
    await ensureAdaptive();
    if (await registry.get(id)) return id;
    const { report, accepted } = await validateModel(builtinBytes(), deps.validation);
    if (!accepted) throw new Error(`the built-in model fails validation: ${report.reasons.map((r) => r.message).join("; ")}`);
    await registry.insert({ id, name: accepted.manifest.name, version: accepted.version, sizeBytes: report.sizeBytes, manifest: accepted.manifest, report, uploadedBy: BUILTIN_ACTOR, uploadedAt: 0 });
    return id;
  }

  async function current(): Promise<{ latest: DeploymentRevision | null; state: DeploymentState }> {
    const latest = await registry.latestDeployment();
    return { latest, state: latest?.state ?? initialDeployment(await ensureBuiltIn()) };
  }

  async function versionOf(id: string): Promise<{ id: string; version: string }> {
    return { id, version: (await registry.get(id))?.version ?? "unknown" };
  }

  async function deploymentView(latest: DeploymentRevision | null, state: DeploymentState): Promise<DeploymentView> {
    return {
      revision: latest?.revision ?? 0,
      champion: await versionOf(state.champion),
      challenger: state.challenger ? { ...(await versionOf(state.challenger.id)), percent: state.challenger.percent } : null,
      shadows: await Promise.all(state.shadows.map(versionOf)),
      previousChampions: await Promise.all([...state.history].reverse().map(versionOf)),
      updatedBy: latest?.actor ?? null,
      updatedAt: latest?.at ?? null,
      ...(state.outcomes ? { outcomes: Object.fromEntries(await Promise.all(Object.entries(state.outcomes).map(async ([o, d]) => [o, await outcomeView(d)] as const))) } : {}),
    };
  }

  async function outcomeView(d: OutcomeDeployment): Promise<OutcomeView> {
    return {
      champion: d.champion ? await versionOf(d.champion) : null,
      challenger: d.challenger ? { ...(await versionOf(d.challenger.id)), percent: d.challenger.percent } : null,
      shadows: await Promise.all(d.shadows.map(versionOf)),
      previousChampions: await Promise.all([...d.history].reverse().map(versionOf)),
    };
  }

  /** Finds a model by its id or a unique prefix of it (≥ 12 hex digits, as in `modelVersion`). */
  async function resolve(idOrPrefix: string): Promise<ModelRecord> {
    await ensureBuiltIn();
    const exact = idOrPrefix.length === 64 ? await registry.get(idOrPrefix) : null;
    if (exact) return exact;
    const matches = idOrPrefix.length < 64 ? await registry.byPrefix(idOrPrefix) : [];
    if (matches.length === 1) return matches[0]!;
    if (matches.length > 1) throw new AppError("invalid_request", `id: "${idOrPrefix}" names more than one model; give more digits`);
    throw new AppError("not_found", `no model ${idOrPrefix}`);
  }

  return {
    /** Validates and registers; the same bytes again return the existing model. */
    async upload(bytes: Uint8Array, actor: string): Promise<{ created: boolean; model: ModelView; report: ValidationReport }> {
      await ensureBuiltIn();
      const { state } = await current();
      const existing = await registry.get(await sha256Hex(bytes));
      if (existing) return { created: false, model: view(existing, state), report: existing.report };
      const { report, accepted } = await validateModel(bytes, deps.validation);
      if (!accepted) throw new ModelRefused(report);
      // File first: a record never points at a file that is not there.
      await files.put(report.sha256, bytes, accepted.version);
      const record: ModelRecord = {
        id: report.sha256,
        name: accepted.manifest.name,
        version: accepted.version,
        sizeBytes: bytes.length,
        manifest: accepted.manifest,
        report,
        uploadedBy: actor,
        uploadedAt: deps.now(),
      };
      const created = await registry.insert(record);
      const stored = created ? record : ((await registry.get(record.id)) ?? record);
      return { created, model: view(stored, state), report: stored.report };
    },

    async list(limit: number): Promise<{ deployment: DeploymentView; models: ModelView[] }> {
      const { latest, state } = await current();
      const models = await registry.list(limit);
      return { deployment: await deploymentView(latest, state), models: models.map((m) => view(m, state)) };
    },

    async get(idOrPrefix: string) {
      const model = await resolve(idOrPrefix);
      const { state } = await current();
      const history = await registry.deploymentsOf(model.id, 50);
      return {
        ...view(model, state),
        manifest: model.manifest,
        report: model.report,
        history: history.map((h) => ({ revision: h.revision, action: h.action, actor: h.actor, at: h.at })),
      };
    },

    async deployment(): Promise<DeploymentView> {
      const { latest, state } = await current();
      return deploymentView(latest, state);
    },

    /** Applies a deployment change; a change that changes nothing writes no revision. */
    async change(action: DeploymentAction, actor: string): Promise<{ changed: boolean; deployment: DeploymentView }> {
      // A model serves in the deployment of the outcome its manifest names.
      const model = "id" in action ? await resolve(action.id) : undefined;
      const outcome = model ? outcomeOf(model.manifest) : (action.outcome ?? PRIMARY_OUTCOME);
      const resolved: DeploymentAction = "id" in action ? { ...action, id: model!.id, outcome } : { ...action, outcome };
      const { latest, state } = await current();
      const next = applyAction(state, resolved);
      if (next === state) return { changed: false, deployment: await deploymentView(latest, state) };
      const revision: DeploymentRevision = {
        revision: (latest?.revision ?? 0) + 1,
        action: resolved.type,
        modelId: "id" in resolved ? resolved.id : outcome === PRIMARY_OUTCOME ? next.champion : (next.outcomes?.[outcome]?.champion ?? null),
        state: next,
        actor,
        at: deps.now(),
      };
      await registry.appendDeployment(revision);
      deps.invalidate();
      return { changed: true, deployment: await deploymentView(revision, next) };
    },
  };
}

export type ModelAdmin = ReturnType<typeof modelAdmin>;
