/**
 * Auto-protection (issue 15): with `AUTO_ROLLBACK=on` (default off), a drift or outcome alert
 * about a serving champion — an incident of a kind starting `drift.`, severity `alert`, whose
 * `model` is the champion of an outcome's deployment — rolls that deployment back to its previous
 * champion, as the admin's `POST /admin/models/rollback` does, recorded as a deployment revision
 * by actor `system`. It acts on the change that opened or escalated the incident to an alert, so
 * one alert rolls back once.
 */
import { PRIMARY_OUTCOME } from "../models/deployment.ts";
import { limitsFromEnv } from "../models/limits.ts";
import { d1ModelRegistry, r2ModelFiles } from "../models/registry.ts";
import { isolateModelRuntime } from "../models/runtime.ts";
import { modelAdmin } from "../models/service.ts";
import { SYSTEM_ACTOR, type IncidentChange } from "./store.ts";

/** A rollback the policy made. */
export interface AutoRollback {
  incidentId: number;
  outcome: string;
  from: string;
  to: string;
  revision: number;
}

/** Does a finding's model name this deployed model (its id, its version, or a calibrated `version+calN`)? */
export function namesModel(model: string, id: string, version: string): boolean {
  return model === id || model === version || model.startsWith(`${version}+`) || (model.length >= 12 && id.startsWith(model));
}

/** Applies the policy to a run's changes; returns the rollbacks made. */
export async function autoProtect(env: Env, changes: IncidentChange[], now: number): Promise<AutoRollback[]> {
  const triggers = changes.filter((c) => (c.change === "opened" || c.change === "escalated") && c.incident.severity === "alert" && c.incident.kind.startsWith("drift.") && c.incident.model);
  if (!triggers.length) return [];
  const admin = modelAdmin({
    registry: d1ModelRegistry(env.DB),
    files: r2ModelFiles(env.MODELS),
    invalidate: isolateModelRuntime.invalidate,
    now: () => now,
    validation: { latencyBudgetMs: limitsFromEnv(env).latencyBudgetMs },
  });
  const done: AutoRollback[] = [];
  for (const t of triggers) {
    const deployment = await admin.deployment();
    const champions = [
      { outcome: PRIMARY_OUTCOME, champion: deployment.champion, previous: deployment.previousChampions[0] },
      ...Object.entries(deployment.outcomes ?? {}).map(([outcome, d]) => ({ outcome, champion: d.champion, previous: d.previousChampions[0] })),
    ];
    const hit = champions.find((c) => c.champion && namesModel(t.incident.model!, c.champion.id, c.champion.version));
    if (!hit || !hit.previous) {
      if (hit) console.warn(`auto-rollback: incident ${t.incident.id} names champion ${hit.champion!.version} of ${hit.outcome}, which has no previous champion`);
      continue;
    }
    const { changed, deployment: after } = await admin.change({ type: "rollback", outcome: hit.outcome }, SYSTEM_ACTOR);
    if (changed) done.push({ incidentId: t.incident.id, outcome: hit.outcome, from: hit.champion!.version, to: hit.previous.version, revision: after.revision });
  }
  return done;
}
