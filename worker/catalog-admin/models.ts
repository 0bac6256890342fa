/**
 * What the active models expect of blocks. A model reads blocks through the features its
 * manifest declares (worker/ranking/features.ts); some of those features give a block attribute
 * a meaning the model was trained on, and a catalog change that breaks that meaning would make
 * the model rank on a wrong input without any error. Such changes are refused (validate.ts).
 */
import type { Catalog } from "../catalog/schema.ts";
import { builtinBytes, builtinId } from "../models/builtin.ts";
import { d1ModelRegistry } from "../models/registry.ts";
import { readManifest } from "../ranking/manifest.ts";
import type { Problem } from "./validate.ts";

/** A model in service (champion, challenger or shadow) and the features it reads. */
export interface ActiveModel {
  version: string;
  features: readonly string[];
}

/** Per feature: the problems a catalog gives a model reading it (pure). */
const BLOCK_REQUIREMENTS: Record<string, (catalog: Catalog, model: string) => Problem[]> = {
  // "1 for a slot's default (house) block, tagged `default`" (features.ts): a default block
  // without the tag would look like a promotion to the model. (A block tagged `default` before it
  // becomes a slot's default is allowed: that is how a new default is prepared.)
  block_default: (catalog, model) =>
    Object.entries(catalog.slots).flatMap(([slot, { defaultBlock }]) => {
      const block = catalog.blocks.find((b) => b.id === defaultBlock);
      return block && !block.tags.includes("default")
        ? [{ path: `blocks.${block.id}.tags`, message: `model ${model} reads block_default: the default block of slot "${slot}" must carry the tag "default"` }]
        : [];
    }),
};

/** The problems the serving catalog gives the active models (pure). */
export function modelProblems(serving: Catalog, models: readonly ActiveModel[]): Problem[] {
  return models.flatMap((m) => m.features.flatMap((f) => (Object.hasOwn(BLOCK_REQUIREMENTS, f) ? BLOCK_REQUIREMENTS[f]!(serving, m.version) : [])));
}

/** The models in service now, from the registry (the built-in one when nothing was deployed). */
export async function activeModels(db: D1Database): Promise<ActiveModel[]> {
  const registry = d1ModelRegistry(db);
  const builtin = await builtinId();
  const builtinModel = (): ActiveModel => {
    const manifest = readManifest(builtinBytes());
    return { version: `${manifest.name}@${builtin.slice(0, 12)}`, features: manifest.features };
  };
  const state = (await registry.latestDeployment())?.state;
  if (!state) return [builtinModel()];
  const ids = [state.champion, ...(state.challenger ? [state.challenger.id] : []), ...state.shadows];
  const models = await Promise.all(
    ids.map(async (id) => {
      const record = await registry.get(id);
      if (record) return { version: record.version, features: record.manifest.features };
      return id === builtin ? builtinModel() : null;
    }),
  );
  return models.filter((m): m is ActiveModel => m !== null);
}

