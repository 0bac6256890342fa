/**
 * Thresholds of the operational checks (./checks.ts) and the governance switches, from
 * environment variables (wrangler.toml [vars] or secrets); an unset or invalid value keeps the
 * default. Every rate is a share in [0, 1].
 *
 * | variable | default | meaning |
 * |---|---|---|
 * | GOV_MIN_DECISIONS | 100 | decisions (or blocks considered, visitors) a check needs before it judges |
 * | GOV_FALLBACK_WARN / _ALERT | 0.05 / 0.2 | share of personalised decisions answered by the rule-based fallback |
 * | GOV_BUDGET_WARN / _ALERT | 0.01 / 0.05 | share that missed the latency or cold-start budget |
 * | GOV_MODEL_LOAD_WARN / _ALERT | 1 / 10 | model load failures (count) in the window |
 * | GOV_DEAD_LETTERS_WARN / _ALERT | 1 / 10 | dead letters stored in the window |
 * | GOV_EXCLUSION_JUMP_WARN / _ALERT | 0.25 / 0.5 | rise of one rule's exclusion share over its baseline |
 * | GOV_EXCLUSION_ALL | 0.95 | one rule excluding at least this share of candidates is an alert when its baseline was below half of it |
 * | GOV_CAPS_WARN / _ALERT | 0.5 / 0.8 | share of candidates removed by frequency caps |
 * | GOV_SRM_ALPHA | 0.001 | p-value below which a split is a sample-ratio mismatch (alert) |
 * | GOV_WINDOW_HOURS | 24 | the window judged (UTC days overlapping it, from the aggregates) |
 * | GOV_BASELINE_DAYS | 7 | days before the window that form a rule's baseline exclusion share |
 * | AUTO_ROLLBACK | off | `on`: roll the champion back when a `drift.*` alert about it opens |
 */

/** The thresholds in force. */
export interface GovernanceConfig {
  minDecisions: number;
  fallback: { warn: number; alert: number };
  budget: { warn: number; alert: number };
  modelLoad: { warn: number; alert: number };
  deadLetters: { warn: number; alert: number };
  exclusionJump: { warn: number; alert: number };
  exclusionAll: number;
  caps: { warn: number; alert: number };
  srmAlpha: number;
  windowMs: number;
  baselineDays: number;
  autoRollback: boolean;
}

export const DEFAULT_GOVERNANCE: GovernanceConfig = {
  minDecisions: 100,
  fallback: { warn: 0.05, alert: 0.2 },
  budget: { warn: 0.01, alert: 0.05 },
  modelLoad: { warn: 1, alert: 10 },
  deadLetters: { warn: 1, alert: 10 },
  exclusionJump: { warn: 0.25, alert: 0.5 },
  exclusionAll: 0.95,
  caps: { warn: 0.5, alert: 0.8 },
  srmAlpha: 0.001,
  windowMs: 24 * 3_600_000,
  baselineDays: 7,
  autoRollback: false,
};

type Vars = Record<string, unknown>;

function num(vars: Vars, name: string, fallback: number, max = Infinity): number {
  const raw = vars[name];
  const n = typeof raw === "string" && raw.trim() !== "" ? Number(raw) : NaN;
  return Number.isFinite(n) && n >= 0 && n <= max ? n : fallback;
}

function pair(vars: Vars, prefix: string, d: { warn: number; alert: number }, max = Infinity) {
  return { warn: num(vars, `${prefix}_WARN`, d.warn, max), alert: num(vars, `${prefix}_ALERT`, d.alert, max) };
}

/** Reads the configuration from the bindings (any object of string variables). */
export function governanceConfig(env: object): GovernanceConfig {
  const v = env as Vars;
  const d = DEFAULT_GOVERNANCE;
  return {
    minDecisions: num(v, "GOV_MIN_DECISIONS", d.minDecisions),
    fallback: pair(v, "GOV_FALLBACK", d.fallback, 1),
    budget: pair(v, "GOV_BUDGET", d.budget, 1),
    modelLoad: pair(v, "GOV_MODEL_LOAD", d.modelLoad),
    deadLetters: pair(v, "GOV_DEAD_LETTERS", d.deadLetters),
    exclusionJump: pair(v, "GOV_EXCLUSION_JUMP", d.exclusionJump, 1),
    exclusionAll: num(v, "GOV_EXCLUSION_ALL", d.exclusionAll, 1),
    caps: pair(v, "GOV_CAPS", d.caps, 1),
    srmAlpha: num(v, "GOV_SRM_ALPHA", d.srmAlpha, 1),
    windowMs: num(v, "GOV_WINDOW_HOURS", d.windowMs / 3_600_000, 24 * 90) * 3_600_000,
    baselineDays: Math.round(num(v, "GOV_BASELINE_DAYS", d.baselineDays, 90)),
    autoRollback: typeof v.AUTO_ROLLBACK === "string" && ["on", "true", "1"].includes(v.AUTO_ROLLBACK.trim().toLowerCase()),
  };
}
