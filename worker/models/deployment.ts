/**
 * Which registered models serve: the champion, an optional challenger for a deterministic share
 * of visitors, and shadows scored on every decision but never served. Pure functions over the
 * state; the registry stores each new state as a revision (worker/models/registry.ts).
 */
import { AppError } from "../errors/app-error.ts";
import { unitHash } from "../holdout/hash.ts";
import { MAX_ROLLBACK_HISTORY, MAX_SHADOWS } from "./limits.ts";

export interface DeploymentState {
  /** Model id (SHA-256) of the champion. */
  champion: string;
  /** Previous champions, oldest first; rollback returns to the last one. */
  history: string[];
  challenger: { id: string; percent: number } | null;
  shadows: string[];
  /**
   * The deployments of the other outcomes (conversion, churn, …; the fields above are the
   * `click` one, which always has a champion). Absent when only click models ever served.
   */
  outcomes?: Record<string, OutcomeDeployment>;
}

/** One outcome's champion (null: no model of that outcome serves), challenger and shadows. */
export interface OutcomeDeployment {
  champion: string | null;
  history: string[];
  challenger: { id: string; percent: number } | null;
  shadows: string[];
}

/** The outcome whose deployment is the top level of DeploymentState. */
export const PRIMARY_OUTCOME = "click";

/** The change an admin asked for. */
export type DeploymentAction = (
  | { type: "activate"; id: string }
  | { type: "rollback" }
  | { type: "challenger"; id: string; percent: number }
  | { type: "shadow_add"; id: string }
  | { type: "shadow_remove"; id: string }
) & {
  /** The outcome whose deployment changes (the model's manifest `outcome`); absent: click. */
  outcome?: string;
};

/** Before any change: the shipped default model is the champion. */
export function initialDeployment(defaultId: string): DeploymentState {
  return { champion: defaultId, history: [], challenger: null, shadows: [] };
}

const short = (id: string) => id.slice(0, 12);

/** Gives a model one role: becoming champion or challenger removes it from the others. */
function withoutRoles<S extends OutcomeDeployment>(state: S, id: string): S {
  return {
    ...state,
    challenger: state.challenger?.id === id ? null : state.challenger,
    shadows: state.shadows.filter((s) => s !== id),
  };
}

/**
 * Applies an action to the deployment of `action.outcome` (default click); throws
 * AppError("conflict") when it makes no sense in this state. Every outcome has its own
 * champion, challenger and shadows; only click always has a champion (rolling back the first
 * champion of another outcome switches that outcome off).
 */
export function applyAction(state: DeploymentState, action: DeploymentAction): DeploymentState {
  const outcome = action.outcome ?? PRIMARY_OUTCOME;
  if (outcome === PRIMARY_OUTCOME) {
    const next = applyToOne(state, action, false);
    return next === state ? state : ({ ...state, ...next } as DeploymentState);
  }
  const current = state.outcomes?.[outcome] ?? { champion: null, history: [], challenger: null, shadows: [] };
  const next = applyToOne(current, action, true);
  if (next === current) return state;
  return { ...state, outcomes: { ...state.outcomes, [outcome]: next } };
}

function applyToOne<S extends OutcomeDeployment>(state: S, action: DeploymentAction, optional: boolean): S {
  switch (action.type) {
    case "activate": {
      if (state.champion === action.id) return state;
      const history = [...state.history, ...(state.champion ? [state.champion] : [])].slice(-MAX_ROLLBACK_HISTORY);
      return { ...withoutRoles(state, action.id), champion: action.id, history };
    }
    case "rollback": {
      const previous = state.history.at(-1);
      if (previous === undefined) {
        if (optional && state.champion) return { ...state, champion: null, challenger: null };
        throw new AppError("conflict", "no previous champion to roll back to");
      }
      return { ...withoutRoles(state, previous), champion: previous, history: state.history.slice(0, -1) };
    }
    case "challenger": {
      if (action.percent === 0) return state.challenger?.id === action.id ? { ...state, challenger: null } : state;
      if (state.champion === action.id) throw new AppError("conflict", `model ${short(action.id)} is the champion; it cannot also be the challenger`);
      if (!state.champion) throw new AppError("conflict", `no champion for outcome "${action.outcome}" yet: activate one first, then add a challenger`);
      // One challenger at a time: a new one replaces the previous.
      return { ...withoutRoles(state, action.id), challenger: { id: action.id, percent: action.percent } };
    }
    case "shadow_add": {
      if (state.shadows.includes(action.id)) return state;
      if (state.champion === action.id) throw new AppError("conflict", `model ${short(action.id)} is the champion; it is scored already`);
      if (state.challenger?.id === action.id) throw new AppError("conflict", `model ${short(action.id)} is the challenger; set its percent to 0 first`);
      if (state.shadows.length >= MAX_SHADOWS) {
        throw new AppError("conflict", `at most ${MAX_SHADOWS} shadow models (each is scored on every decision); remove one first`);
      }
      return { ...state, shadows: [...state.shadows, action.id] };
    }
    case "shadow_remove":
      return { ...state, shadows: state.shadows.filter((s) => s !== action.id) };
  }
}

/** Salt of the challenger split; the challenger's id is added so each experiment reshuffles. */
export const CHALLENGER_SALT = "nextbest-challenger-v1";

/**
 * True when this visitor is ranked by the challenger: `unitHash(salt:id, visitorId) × 100 <
 * percent`. Deterministic per visitor and challenger, and monotone in the percent, so raising
 * the share keeps everyone already in it.
 */
export function inChallenger(challenger: { id: string; percent: number }, visitorId: string): boolean {
  return unitHash(`${CHALLENGER_SALT}:${challenger.id}`, visitorId) * 100 < challenger.percent;
}

/** The role of a model in a deployment. */
export function roleOf(state: DeploymentState, id: string): "champion" | "challenger" | "shadow" | "available" {
  for (const s of [state, ...Object.values(state.outcomes ?? {})]) {
    if (s.champion === id) return "champion";
    if (s.challenger?.id === id) return "challenger";
    if (s.shadows.includes(id)) return "shadow";
  }
  return "available";
}

/** Every model the deployment may need a session for, every outcome included. */
export function modelsInUse(state: DeploymentState): string[] {
  return [state, ...Object.values(state.outcomes ?? {})].flatMap((s) => [...(s.champion ? [s.champion] : []), ...(s.challenger ? [s.challenger.id] : []), ...s.shadows]);
}
