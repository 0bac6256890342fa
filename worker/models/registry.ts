/**
 * The model registry: records in D1 (migrations/0002_models.sql), files in R2 under their
 * SHA-256. Behind small interfaces so the admin service and the serving runtime can be tested
 * with in-memory versions.
 */
import { AppError } from "../errors/app-error.ts";
import type { ModelManifest } from "../ranking/manifest.ts";
import type { DeploymentAction, DeploymentState } from "./deployment.ts";
import type { ValidationReport } from "./report.ts";

/** One registered model. */
export interface ModelRecord {
  /** SHA-256 of the file, hex. */
  id: string;
  name: string;
  /** `name@sha12`, the `modelVersion` of decisions it ranks. */
  version: string;
  sizeBytes: number;
  manifest: ModelManifest;
  report: ValidationReport;
  uploadedBy: string;
  uploadedAt: number;
}

/** One change of the deployment. */
export interface DeploymentRevision {
  revision: number;
  action: DeploymentAction["type"];
  modelId: string | null;
  state: DeploymentState;
  actor: string;
  at: number;
}

/** Model records and the deployment log. */
export interface ModelRegistry {
  get(id: string): Promise<ModelRecord | null>;
  /** Models whose id starts with `prefix` (at most 2: enough to tell whether it is unique). */
  byPrefix(prefix: string): Promise<ModelRecord[]>;
  /** Newest first. */
  list(limit: number): Promise<ModelRecord[]>;
  /** Inserts unless a model with this id exists; true when inserted. */
  insert(record: ModelRecord): Promise<boolean>;
  /** The revision in force, or null before the first change. */
  latestDeployment(): Promise<DeploymentRevision | null>;
  /** Appends a revision; AppError("conflict") when that revision number was taken meanwhile. */
  appendDeployment(revision: DeploymentRevision): Promise<void>;
  /** Revisions naming a model, newest first. */
  deploymentsOf(modelId: string, limit: number): Promise<DeploymentRevision[]>;
}

/** Model files by id. */
export interface ModelFiles {
  put(id: string, bytes: Uint8Array, version: string): Promise<void>;
  get(id: string): Promise<Uint8Array | null>;
}

interface ModelRow {
  id: string;
  name: string;
  version: string;
  size_bytes: number;
  manifest: string;
  report: string;
  uploaded_by: string;
  uploaded_at: number;
}

interface DeploymentRow {
  revision: number;
  action: string;
  model_id: string | null;
  state: string;
  actor: string;
  created_at: number;
}

const fromModelRow = (r: ModelRow): ModelRecord => ({
  id: r.id,
  name: r.name,
  version: r.version,
  sizeBytes: r.size_bytes,
  manifest: JSON.parse(r.manifest),
  report: JSON.parse(r.report),
  uploadedBy: r.uploaded_by,
  uploadedAt: r.uploaded_at,
});

const fromDeploymentRow = (r: DeploymentRow): DeploymentRevision => ({
  revision: r.revision,
  action: r.action as DeploymentAction["type"],
  modelId: r.model_id,
  state: JSON.parse(r.state),
  actor: r.actor,
  at: r.created_at,
});

const MODEL_COLUMNS = "id, name, version, size_bytes, manifest, report, uploaded_by, uploaded_at";

/** The registry in D1. */
export function d1ModelRegistry(db: D1Database): ModelRegistry {
  return {
    async get(id) {
      const row = await db.prepare(`SELECT ${MODEL_COLUMNS} FROM models WHERE id = ?`).bind(id).first<ModelRow>();
      return row ? fromModelRow(row) : null;
    },
    async byPrefix(prefix) {
      // A range rather than LIKE: D1 refuses LIKE patterns over 50 bytes (a full 64-digit id),
      // and ids are lower-case hex, so every id starting with the prefix sorts below prefix + "g".
      const { results } = await db.prepare(`SELECT ${MODEL_COLUMNS} FROM models WHERE id >= ? AND id < ? ORDER BY id LIMIT 2`).bind(prefix, `${prefix}g`).all<ModelRow>();
      return results.map(fromModelRow);
    },
    async list(limit) {
      const { results } = await db.prepare(`SELECT ${MODEL_COLUMNS} FROM models ORDER BY uploaded_at DESC, id LIMIT ?`).bind(limit).all<ModelRow>();
      return results.map(fromModelRow);
    },
    async insert(m) {
      const result = await db
        .prepare(`INSERT OR IGNORE INTO models (${MODEL_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
        .bind(m.id, m.name, m.version, m.sizeBytes, JSON.stringify(m.manifest), JSON.stringify(m.report), m.uploadedBy, m.uploadedAt)
        .run();
      return result.meta.changes > 0;
    },
    async latestDeployment() {
      const row = await db
        .prepare("SELECT revision, action, model_id, state, actor, created_at FROM model_deployments ORDER BY revision DESC LIMIT 1")
        .first<DeploymentRow>();
      return row ? fromDeploymentRow(row) : null;
    },
    async appendDeployment(d) {
      try {
        await db
          .prepare("INSERT INTO model_deployments (revision, action, model_id, state, actor, created_at) VALUES (?, ?, ?, ?, ?, ?)")
          .bind(d.revision, d.action, d.modelId, JSON.stringify(d.state), d.actor, d.at)
          .run();
      } catch (err) {
        if (/UNIQUE|PRIMARY KEY|constraint/i.test(String(err))) {
          throw new AppError("conflict", "the deployment was changed by another request meanwhile; read it again and retry");
        }
        throw err;
      }
    },
    async deploymentsOf(modelId, limit) {
      const { results } = await db
        .prepare("SELECT revision, action, model_id, state, actor, created_at FROM model_deployments WHERE model_id = ? ORDER BY revision DESC LIMIT ?")
        .bind(modelId, limit)
        .all<DeploymentRow>();
      return results.map(fromDeploymentRow);
    },
  };
}

/** R2 key of a model file. */
export const modelKey = (id: string) => `sha256/${id}`;

/** Model files in R2, addressed by content hash. */
export function r2ModelFiles(bucket: R2Bucket): ModelFiles {
  return {
    async put(id, bytes, version) {
      await bucket.put(modelKey(id), bytes, {
        httpMetadata: { contentType: "application/octet-stream" },
        customMetadata: { version },
        // R2 checks the bytes it stores against the hash they are named by.
        sha256: id,
      });
    },
    async get(id) {
      const object = await bucket.get(modelKey(id));
      return object ? new Uint8Array(await object.arrayBuffer()) : null;
    },
  };
}

/** In-memory registry and files, for unit tests. */
export function memoryModelRegistry(): ModelRegistry & { files: ModelFiles } {
  const models = new Map<string, ModelRecord>();
  const deployments: DeploymentRevision[] = [];
  const blobs = new Map<string, Uint8Array>();
  return {
    get: async (id) => models.get(id) ?? null,
    byPrefix: async (prefix) => [...models.values()].filter((m) => m.id.startsWith(prefix)).slice(0, 2),
    list: async (limit) => [...models.values()].sort((a, b) => b.uploadedAt - a.uploadedAt).slice(0, limit),
    insert: async (m) => (models.has(m.id) ? false : (models.set(m.id, m), true)),
    latestDeployment: async () => deployments.at(-1) ?? null,
    appendDeployment: async (d) => {
      if (deployments.some((x) => x.revision === d.revision)) throw new AppError("conflict", "revision taken");
      deployments.push(d);
    },
    deploymentsOf: async (id, limit) => deployments.filter((d) => d.modelId === id).reverse().slice(0, limit),
    files: {
      put: async (id, bytes) => void blobs.set(id, bytes.slice()),
      get: async (id) => blobs.get(id) ?? null,
    },
  };
}
